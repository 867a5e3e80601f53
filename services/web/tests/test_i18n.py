from datetime import UTC, datetime, timedelta

import pytest
from babel.dates import format_timedelta

from web import i18n


@pytest.mark.parametrize(
    "cookie, accept, expected",
    [
        ("es", "en-US,en;q=0.9", "es"),
        ("zh_Hans", None, "zh_Hans"),
        ("fr", "es-ES,es;q=0.9", "es"),  # an unknown saved choice falls back to the browser's
        (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh_Hans"),
        (None, "zh-Hans", "zh_Hans"),
        (None, "zh-TW,es;q=0.5", "es"),  # traditional Chinese readers get their next choice
        (None, "fr-FR,de;q=0.8", "en"),
        (None, "de;q=0.9,es;q=0.8,en;q=0.1", "es"),
        (None, "en;q=0.2,es;q=0.8", "es"),
        (None, "es;q=0", "en"),
        (None, "", "en"),
        (None, "garbage;;q=x,,", "en"),
    ],
)
def test_locale_comes_from_the_cookie_then_accept_language_then_english(cookie, accept, expected):
    assert i18n.negotiate(cookie, accept) == expected


def test_html_lang_names_the_script_of_chinese():
    assert [i18n.html_lang(locale) for locale in i18n.LOCALES] == ["en", "es", "zh-Hans"]


@pytest.mark.parametrize(
    "post, locale, same",
    [
        ("es", "es", True),
        ("en", "es", False),
        ("zh", "zh_Hans", True),
        ("zh-Hans", "zh_Hans", True),
        ("zh", "en", False),
        ("", "en", True),
    ],
)
def test_a_post_in_another_language_than_the_readers_gets_a_translate_link(post, locale, same):
    assert i18n.same_language(post, locale) is same


@pytest.mark.parametrize(
    "given, used",
    [
        ("Europe/Madrid", "Europe/Madrid"),
        ("Asia/Shanghai", "Asia/Shanghai"),
        ("Not/AZone", "UTC"),
        ("../../etc/passwd", "UTC"),
        ("/etc/localtime", "UTC"),
        ("", "UTC"),
        (None, "UTC"),
        ("x" * 100, "UTC"),
    ],
)
def test_the_time_zone_cookie_is_validated_and_defaults_to_utc(given, used):
    assert i18n.time_zone(given) == used


MOMENT = datetime(2026, 12, 1, 19, 3, tzinfo=UTC)


def test_full_dates_are_localized_in_the_readers_zone():
    assert i18n.full_datetime(MOMENT, "UTC", "en") == "December 1, 2026 7:03\u202fPM"
    assert i18n.full_datetime(MOMENT, "Europe/Madrid", "es") == "1 de diciembre de 2026 20:03"
    assert i18n.full_datetime(MOMENT, "Asia/Shanghai", "zh_Hans") == "2026年12月2日 03:03"


def test_relative_times_read_like_moment_from_now():
    now = MOMENT + timedelta(minutes=3)
    assert i18n.relative_time(MOMENT, now, "en") == "3 minutes ago"
    assert i18n.relative_time(MOMENT, now, "es") == "hace 3 minutos"
    assert i18n.relative_time(MOMENT, now, "zh_Hans") == "3分钟前"
    assert i18n.relative_time(MOMENT + timedelta(seconds=5), MOMENT, "en") == "1 second ago"  # clock skew


@pytest.mark.parametrize("locale", ["en", "es", "zh_Hans"])
def test_remembered_relative_times_are_babels_text_at_every_unit_boundary(locale):
    # Each unit's edges (0.85 of the next unit rounds up into it; half units round either way).
    seconds = [
        1,
        1.4,
        1.5,
        30,
        50.9,
        51,
        59.4,
        59.6,
        3059,
        3061,
        3600 * 20.39,
        3600 * 20.41,
        86400 * 5.94,
        86400 * 5.96,
    ]
    seconds += [86400 * 25.4, 86400 * 25.6, 86400 * 310, 86400 * 311, 86400 * 700, 86400 * 3650]
    for gap in seconds:
        moment = MOMENT - timedelta(seconds=gap)
        for _ in range(2):  # once formatted, once remembered
            expected = format_timedelta(moment - MOMENT, add_direction=True, locale=locale)
            assert i18n.relative_time(moment, MOMENT, locale) == expected, gap


def test_full_dates_are_remembered_per_moment_zone_and_language():
    assert i18n.full_datetime(MOMENT, "UTC", "en") == i18n.full_datetime(MOMENT, "UTC", "en")
    assert i18n.full_datetime(MOMENT, "Asia/Shanghai", "en") == "December 2, 2026 3:03\u202fAM"
    assert i18n.full_datetime(MOMENT, "Asia/Shanghai", "es") == "2 de diciembre de 2026 3:03"


def test_python_strings_are_translated_into_the_requests_language():
    token = i18n.current_locale.set("es")
    try:
        assert i18n._("Your post is now live!") == "¡Tu publicación ya está en línea!"
        assert i18n._("User %(username)s not found.", username="ana") == "No se ha encontrado al usuario ana."
    finally:
        i18n.current_locale.reset(token)
    token = i18n.current_locale.set("zh_Hans")
    try:
        assert i18n._("Home") == "首页"
    finally:
        i18n.current_locale.reset(token)
    assert i18n._("Home") == "Home"
