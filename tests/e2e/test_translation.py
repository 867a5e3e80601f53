"""Translation through the gateway of a running stack, which has no translator key configured."""


def test_translation_without_a_configured_translator_says_so_in_a_503(person):
    reader = person("reader")
    answer = reader.send(
        "POST", "/api/translate", json={"text": "Hola, mundo", "source_language": "es", "dest_language": "en"}
    )
    assert answer.status_code == 503
    assert answer.json() == {
        "error": "Service Unavailable",
        "message": "translation is not configured on this server "
        "(set MICROBLOG_TRANSLATOR_KEY to a Microsoft Translator key)",
    }
    assert reader.send("POST", "/api/translate", json={"text": "", "dest_language": "en"}).status_code == 400
