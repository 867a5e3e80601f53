import pytest

from web.urls import page_number, safe_next


@pytest.mark.parametrize("target", ["/explore", "/user/susan?page=2", "/index#top", "/search?q=a%20b"])
def test_local_paths_are_followed(target):
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/index\r\nSet-Cookie: x=1",
        "",
        None,
        "/" + "a" * 3000,
        "http:/evil.example",
    ],
)
def test_anything_else_goes_home(target):
    assert safe_next(target) == "/index"


@pytest.mark.parametrize(
    "raw, page",
    [
        (None, 1),
        ("", 1),
        ("1", 1),
        ("42", 42),
        ("0", None),
        ("-1", None),
        ("abc", None),
        ("1.5", None),
        ("99999999", None),
        ("٣", None),
    ],
)
def test_page_numbers(raw, page):
    assert page_number(raw) == page
