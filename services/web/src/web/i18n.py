"""Languages and dates: locale negotiation, the request's translations, Babel date helpers.

The locale in use lives in a contextvar set per request, so `_()` in Python code and the
gettext callables installed in Jinja translate into the reader's language.
"""

from __future__ import annotations

import io
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import TIMEDELTA_UNITS, format_date, format_time, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

log = logging.getLogger(__name__)
LOCALES = ("en", "es", "zh_Hans")
DEFAULT_LOCALE = "en"
LANGUAGE_NAMES = {"en": "English", "es": "Español", "zh_Hans": "中文"}
TRANSLATIONS_DIR = Path(__file__).parent / "translations"
_TIMEZONE = re.compile(r"^[A-Za-z0-9_+\-/]{1,64}$")

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The saved choice if it is one we speak, else the browser's best match, else English."""
    if cookie in LOCALES:
        return cookie
    ranked = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip().lower().replace("_", "-")))
    for _, _, tag in sorted(ranked):
        primary = tag.split("-")[0]
        if primary == "zh":
            if any(region in tag for region in ("-hant", "-tw", "-hk", "-mo")):
                continue  # traditional Chinese readers are better served by their next choice
            return "zh_Hans"
        if primary in ("en", "es"):
            return primary
    return DEFAULT_LOCALE


def html_lang(locale: str) -> str:
    """The BCP 47 tag of a locale (`zh_Hans` → `zh-Hans`), for <html lang> and the translator."""
    return locale.replace("_", "-")


def same_language(post_language: str, locale: str) -> bool:
    """Whether a post's detected language is the reader's (unknown counts as the same: no link)."""
    if not post_language:
        return True
    return post_language.replace("_", "-").split("-")[0].lower() == locale.split("_")[0].lower()


@cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalog of a locale; compiled in memory from its .po when the .mo is missing or stale."""
    po = TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    mo = po.with_suffix(".mo")
    if locale == DEFAULT_LOCALE or not po.exists():
        return NullTranslations()
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as compiled:
            return Translations(compiled)
    log.warning("%s is missing or older than its .po (run `microblog translations compile`)", mo)
    with po.open("rb") as source:
        catalog = read_po(source, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def gettext(message: str) -> str:
    return translations(current_locale.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_locale.get()).ngettext(singular, plural, n)


def _(message: str, **variables) -> str:
    """Translate into the request's language, then fill in `%(name)s` variables."""
    translated = gettext(message)
    return translated % variables if variables else translated


def N_(message: str) -> str:
    """Marks a string for extraction; it is translated where it is used."""
    return message


def babel_locale(locale: str | None = None) -> Locale:
    return _parsed_locale(locale or current_locale.get())


@cache
def _parsed_locale(name: str) -> Locale:
    """Babel's locale object, parsed once per name (parsing it again on every date was a fifth of a page)."""
    return Locale.parse(name)


def time_zone(name: str | None) -> str:
    """A valid IANA zone name from the browser's cookie, else UTC."""
    if not name or not _TIMEZONE.match(name) or ".." in name:
        return "UTC"
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return "UTC"
    return name


def parse_moment(value: str | None) -> datetime | None:
    return _parsed_moment(value) if value else None


@lru_cache(maxsize=20_000)  # the same posts' timestamps come back page after page
def _parsed_moment(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def full_datetime(moment: datetime, zone: str, locale: str | None = None) -> str:
    """Like moment.js `LLL`: "December 1, 2026 7:03 PM" in the reader's language and zone."""
    return _full_datetime(moment, zone, locale or current_locale.get())


@lru_cache(maxsize=20_000)  # pages show the same posts again and again: each moment is formatted once
def _full_datetime(moment: datetime, zone: str, locale: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    where = babel_locale(locale)
    return f"{format_date(local, 'long', locale=where)} {format_time(local, 'short', locale=where)}"


def relative_time(moment: datetime, now: datetime | None = None, locale: str | None = None) -> str:
    """Like moment.js `fromNow`: "3 minutes ago", localized (a moment in the future reads as just past)."""
    delta = moment - (now or datetime.now(UTC))
    delta = min(delta, timedelta(seconds=-1))
    key = (locale or current_locale.get(), *_timedelta_unit(delta.total_seconds()))
    text = _RELATIVE_TIMES.get(key)
    if text is None:
        if len(_RELATIVE_TIMES) >= 10_000:
            _RELATIVE_TIMES.clear()
        text = _RELATIVE_TIMES[key] = format_timedelta(delta, add_direction=True, locale=babel_locale(key[0]))
    return text


# Babel's text for a past delta depends only on the locale, the unit and the rounded value it
# picks: formatted once per (locale, unit, value) instead of for every post on every page.
_RELATIVE_TIMES: dict[tuple[str, str, int], str] = {}


def _timedelta_unit(seconds: float) -> tuple[str, int]:
    """The unit and rounded value `format_timedelta` picks for `seconds` (its threshold 0.85, down to seconds)."""
    for unit, seconds_per_unit in TIMEDELTA_UNITS:
        value = abs(seconds) / seconds_per_unit
        if value >= 0.85 or unit == "second":
            return unit, round(max(1, value) if unit == "second" and value > 0 else value)
    raise AssertionError("seconds is the last of Babel's units")
