"""Posts rendered once: a page's list reuses each post's HTML from earlier pages.

The same posts come back on page after page (a reader's home, Explore, a popular profile), and
turning one into HTML (its macro, two date formats, the avatar URLs, escaping) was most of a
page's rendering. A post's HTML depends only on its fields that the macro reads, the reader's
language and time zone, and the "x minutes ago" text: with all of them in the key, a cached
fragment is exactly what the macro would render now. A list is assembled in one call from the
template (`rendered_posts`), with one clock reading for all its "ago" texts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import pass_context
from markupsafe import Markup

from web import i18n

# The types a field may have for its post to be kept: with the type fixed, equal keys are equal
# fields (1, 1.0 and True would be one key, but not one rendering).
_ID_TYPES = frozenset({int})
_TEXT_TYPES = frozenset({str, type(None)})


class PostFragments:
    """At most `size` rendered posts; the oldest goes first when full."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._html: dict[tuple, Markup] = {}

    @staticmethod
    def key(post: Any, locale: str, timezone: str, ago: str) -> tuple | None:
        """Everything `post_item` reads, or None for a post not shaped as the API's (rendered, not kept)."""
        try:
            author = post["author"]
            links = author.get("_links")
            avatar = links.get("avatar") if links else None
            texts = (author["username"], avatar, post["timestamp"], post["body"], post.get("language"))
            post_id = post["id"]
        except (KeyError, TypeError, AttributeError):
            return None
        if type(post_id) not in _ID_TYPES or not {type(text) for text in texts} <= _TEXT_TYPES:
            return None
        return (locale, i18n.current_locale.get(), timezone, ago, post_id, *texts)

    def render(self, macro, post: Any, locale: str, timezone: str, now: datetime | None = None) -> Markup:
        moment = i18n.parse_moment(_timestamp(post))
        ago = i18n.relative_time(moment, now) if moment else ""
        key = self.key(post, locale, timezone, ago)
        if key is None:
            return macro(post, locale, ago)
        html = self._html.get(key)
        if html is None:
            if len(self._html) >= self.size:
                del self._html[next(iter(self._html))]
            html = self._html[key] = macro(post, locale, ago)
        return html

    @pass_context
    def in_template(self, context, macro, posts: Any, locale: str) -> Markup:
        """`{{ rendered_posts(post_item, posts, locale) }}` in a template: the list's HTML, post after post."""
        timezone, now = context.get("timezone", "UTC"), datetime.now(UTC)
        return Markup("").join([self.render(macro, post, locale, timezone, now) for post in posts])


def _timestamp(post: Any) -> str | None:
    value = post.get("timestamp") if isinstance(post, dict) else None
    return value if isinstance(value, str) else None
