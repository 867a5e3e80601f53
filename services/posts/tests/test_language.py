"""The language adapter against py3langid's real, bundled model."""

import socket
import subprocess
import sys

import pytest

from posts.adapters.language import LanguageDetector


@pytest.mark.parametrize(
    "text, language",
    [
        ("Just deployed to production on a Friday. Wish me luck.", "en"),
        ("I just finished reading a great book about distributed systems.", "en"),
        ("HELLO EVERYONE, GOOD MORNING", "en"),
        ("Me encanta la comida mexicana, sobre todo los tacos.", "es"),
        ("¿Dónde está la biblioteca?", "es"),
        ("Je viens de déployer en production un vendredi. Souhaitez-moi bonne chance.", "fr"),
        ("Bonjour tout le monde, comment allez-vous aujourd'hui ?", "fr"),
        ("我刚刚在星期五部署到生产环境。祝我好运。", "zh"),
        ("今天天气很好，我们去公园散步吧。", "zh"),
        ("你好", "zh"),  # two characters, but each one a word
        ("Ich habe gerade an einem Freitag deployed.", "de"),
        ("こんにちは、元気ですか？", "ja"),
    ],
)
def test_sentences_get_their_iso_639_1_code(detector, text, language):
    assert detector.detect(text) == language


@pytest.mark.parametrize("text", ["佢哋今日去咗邊度？", "廣東話好難學"])
def test_cantonese_is_reported_as_chinese(detector, text):
    assert detector.detect(text) == "zh"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "ok",
        "OK!!!",
        "lol",
        "x",
        "的",
        "12345",
        "3.14 + 2.71 = 5.85",
        "😀😀🎉",
        "🎉 🎉 🎉 !!!",
    ],
)
def test_very_short_or_letterless_text_is_unknown(detector, text):
    assert detector.detect(text) == ""


@pytest.mark.parametrize(
    "text",
    [
        "hello world",
        "haha",
        "hahaha lol omg",
        "asdf qwer zxcv",
        "http://example.com",
        "wow!!! 🎉🎉",
        "Hej, hur mår du?",  # Danish or Swedish, nearly even: a guess, so unknown
    ],
)
def test_ambiguous_text_is_unknown(detector, text):
    assert detector.detect(text) == ""


def test_a_language_without_a_two_letter_code_is_unknown(detector):
    # Nigerian Pidgin ("pcm") wins this one clearly; readers and translators only know ISO 639-1.
    assert detector.detect("How you dey? Wetin dey happen for your side?") == ""


@pytest.mark.parametrize("text", ["a1b2c3d4e5f6", "0x7f3a9c2b 0xdeadbeef"])
def test_text_the_model_is_sure_is_no_language_is_unknown(detector, text):
    assert detector.detect(text) == ""  # the model's "zxx"


def test_a_stricter_threshold_gives_up_sooner():
    assert LanguageDetector(min_confidence=1.01).detect("Das ist ein deutscher Satz.") == ""


def test_the_model_is_loaded_on_first_use_not_before():
    detector = LanguageDetector()
    assert detector._identifier is None
    detector.detect("ok")  # too short to need the model
    assert detector._identifier is None
    detector.detect("This is a perfectly ordinary English sentence.")
    assert detector._identifier is not None


def test_importing_the_service_does_not_load_the_model():
    code = "import sys, posts.app; print('py3langid' in sys.modules, 'numpy' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.split() == ["False", "False"]


def test_detection_works_offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("language detection tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    assert LanguageDetector().detect("El tiempo hoy es muy bueno para pasear por el parque.") == "es"
