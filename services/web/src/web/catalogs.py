"""The web UI's gettext catalogs with Babel: `python -m web.catalogs extract|init LOCALE|update|compile`.

Same semantics as pybabel: extract writes messages.pot from the Python sources and templates,
init starts a language's .po from it, update merges it into every .po, compile writes the .mo
files the web loads (they are built at install time, never committed).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

PACKAGE = Path(__file__).parent
POT = PACKAGE / "messages.pot"
TRANSLATIONS = PACKAGE / "translations"
METHODS = [("translations/**", "ignore"), ("static/**", "ignore"), ("**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def locales() -> list[str]:
    return sorted(p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))


def collect() -> Catalog:
    """Every translatable string of the sources and templates, as a template catalog."""
    catalog = Catalog(
        project="microblog", version="1.0", charset="utf-8", creation_date=datetime(2026, 12, 1, tzinfo=UTC)
    )
    for filename, lineno, message, comments, context in extract_from_dir(
        PACKAGE, METHODS, options_map=OPTIONS, keywords=KEYWORDS, strip_comment_tags=True
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def extract() -> Catalog:
    catalog = collect()
    with POT.open("wb") as out:
        write_po(out, catalog, width=100, sort_output=True, omit_header=False)
    return catalog


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def _write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_po(out, catalog, width=100, sort_output=True)


def init(locale: str) -> Path:
    template = _read(POT)
    catalog = Catalog(locale=locale, project="microblog", version="1.0", charset="utf-8")
    catalog.update(template)
    _write(po_path(locale), catalog)
    return po_path(locale)


def update() -> list[str]:
    template = _read(POT)
    for locale in locales():
        catalog = _read(po_path(locale), locale)
        catalog.update(template, no_fuzzy_matching=True)
        _write(po_path(locale), catalog)
    return locales()


def compile_all() -> list[Path]:
    written = []
    for locale in locales():
        catalog = _read(po_path(locale), locale)
        errors = list(catalog.check())
        for message, problems in errors:
            for problem in problems:
                print(f"{locale}: {message.id!r}: {problem}", file=sys.stderr)
        mo = po_path(locale).with_suffix(".mo")
        with mo.open("wb") as out:
            write_mo(out, catalog, use_fuzzy=False)
        written.append(mo)
    return written


def stale() -> bool:
    """Whether some .mo is missing or older than its .po (the install step compiles then)."""
    for locale in locales():
        po, mo = po_path(locale), po_path(locale).with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else ""
    if command == "extract":
        print(f"{len(extract())} messages in {POT}")
    elif command == "init" and len(args) == 2:
        print(f"created {init(args[1])}")
    elif command == "update":
        print("updated " + ", ".join(update()))
    elif command == "compile":
        for mo in compile_all():
            print(f"compiled {mo}")
    else:
        print("usage: python -m web.catalogs extract | init LOCALE | update | compile", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
