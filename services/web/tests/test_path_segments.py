"""Usernames in the web app's URLs, to the gateway and in links, stay one encoded path segment."""

import httpx
import pytest

from web.gateway import Caller, Gateway
from web.pages import make_environment

NAMES = [("..", "%2E%2E"), (".", "%2E"), ("a/b", "a%2Fb"), ("50%?#", "50%25%3F%23"), ("susan", "susan")]


@pytest.mark.parametrize(("name", "encoded"), NAMES)
async def test_a_username_reaches_the_gateway_as_one_encoded_segment(name, encoded):
    asked: list[bytes] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.raw_path)
        return httpx.Response(200, json={"id": 7, "username": name})

    client = Gateway("http://gateway", transport=httpx.MockTransport(gateway))
    assert (await client.user_by_name(Caller("127.0.0.1", token="t"), name))["id"] == 7
    assert asked == [f"/api/users/by-name/{encoded}".encode()]


@pytest.mark.parametrize(("name", "encoded"), NAMES)
def test_links_and_forms_put_a_username_into_the_path_encoded(name, encoded):
    user = {"id": 7, "username": name, "about_me": "", "last_seen": None, "follower_count": 0, "followed_count": 0}
    user |= {"_links": {"avatar": "/avatar.png"}}
    page = make_environment().get_template("user_popup.html")
    html = page.render(user=user, visitor={"user_id": 1}, csrf_token="t")
    assert f'href="/user/{encoded}"' in html
    assert f'action="/follow/{encoded}"' in html
