from babel.messages.pofile import read_po

from web import catalogs


def _ids(catalog) -> set:
    return {message.id for message in catalog if message.id}


def test_messages_pot_is_up_to_date_with_the_sources():
    with catalogs.POT.open("rb") as pot:
        assert _ids(read_po(pot)) == _ids(catalogs.collect())


def test_every_message_is_translated_into_spanish_and_simplified_chinese():
    with catalogs.POT.open("rb") as pot:
        wanted = _ids(read_po(pot))
    assert catalogs.locales() == ["es", "zh_Hans"]
    for locale in catalogs.locales():
        with catalogs.po_path(locale).open("rb") as po:
            catalog = read_po(po, locale=locale)
        assert _ids(catalog) >= wanted, locale
        for message in catalog:
            if not message.id:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            assert all(strings), f"{locale}: {message.id!r} has an empty translation"
            assert "fuzzy" not in message.flags, f"{locale}: {message.id!r} is fuzzy"
        assert not list(catalog.check()), locale
