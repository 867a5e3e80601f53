from datetime import UTC, datetime, timedelta

from web import i18n
from web.fragments import PostFragments
from web.pages import make_environment

LIST = '{% from "_post.html" import post_list with context %}{{ post_list(posts, locale, "none") }}'
# The macro as it rendered every post before fragments were kept: the reference output.
DIRECT = (
    '{% from "_post.html" import post_item with context %}'
    "{% for post in posts %}{{ post_item(post, locale, post.timestamp | fromnow) }}{% endfor %}"
)


def post(**changes) -> dict:
    moment = (datetime.now(UTC) - timedelta(minutes=3)).isoformat().replace("+00:00", "Z")
    avatar = "https://www.gravatar.com/avatar/0123456789abcdef0123456789abcdef?d=identicon&s=36"
    return {
        "id": 7,
        "body": "Hoy hace un día precioso <b>",
        "language": "es",
        "timestamp": moment,
        "author": {"id": 3, "username": "ana", "_links": {"avatar": avatar}},
        **changes,
    }


def render(env, source: str, posts: list, locale: str = "en", timezone: str = "UTC") -> str:
    token = i18n.current_locale.set(locale)
    try:
        return env.from_string(source).render(posts=posts, locale=locale, timezone=timezone)
    finally:
        i18n.current_locale.reset(token)


def kept(env) -> PostFragments:
    return env.globals["rendered_posts"].__self__


def test_a_kept_post_is_exactly_what_its_macro_renders():
    env = make_environment()
    posts = [post(), post(id=8, language="en", author={"username": "bo", "_links": None})]
    for locale, timezone in [("en", "UTC"), ("es", "Europe/Madrid"), ("zh_Hans", "Asia/Shanghai")]:
        first = render(env, LIST, posts, locale, timezone)
        assert render(env, LIST, posts, locale, timezone) == first  # the second time from the kept HTML
        assert render(env, DIRECT, posts, locale, timezone) in first
    assert len(kept(env)._html) == 6


def test_anything_the_macro_reads_changing_renders_the_post_again():
    env = make_environment()
    before = render(env, LIST, [post()])
    assert "Hoy hace un día precioso &lt;b&gt;" in before and "3 minutes ago" in before
    edited = render(env, LIST, [post(body="Otro texto")])
    assert "Otro texto" in edited and "precioso" not in edited
    assert "hace 3 minutos" in render(env, LIST, [post()], "es")
    assert 'title="December 1, 2026 8:03' in render(
        env, LIST, [post(timestamp="2026-12-01T19:03:00Z")], timezone="Europe/Madrid"
    )
    later = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    assert "2 hours ago" in render(env, LIST, [post(timestamp=later)])
    renamed = render(env, LIST, [post(author={"username": "zoe", "_links": {}})])
    assert 'data-username="zoe"' in renamed and "/identicon/" in renamed


def test_a_post_not_shaped_as_the_apis_is_rendered_but_not_kept():
    env = make_environment()
    odd = post(id=True)
    assert render(env, LIST, [odd]) == render(env, LIST, [odd])
    assert kept(env)._html == {}


def test_the_oldest_kept_post_goes_first_when_full():
    fragments = PostFragments(size=2)
    made = []

    def macro(item, locale, ago):
        made.append(item["id"])
        return f"<p>{item['id']}</p>"

    moment = "2026-12-01T19:03:00Z"
    for number in (1, 2, 3, 1):
        fragments.render(macro, post(id=number, timestamp=moment), "en", "UTC")
    assert made == [1, 2, 3, 1]  # 1 had gone when 3 came
    fragments.render(macro, post(id=3, timestamp=moment), "en", "UTC")
    assert made == [1, 2, 3, 1]
