"""Usernames in the web app's URLs, to the gateway and in links, stay one encoded path segment."""

import pytest
from aiohttp import web as http

from web.gateway import Caller, Gateway
from web.pages import make_environment

NAMES = [("..", "%2E%2E"), (".", "%2E"), ("a/b", "a%2Fb"), ("50%?#", "50%25%3F%23"), ("susan", "susan")]


@pytest.mark.parametrize(("name", "encoded"), NAMES)
async def test_a_username_reaches_the_gateway_as_one_encoded_segment(gateway_server, name, encoded):
    asked: list[str] = []

    async def gateway(request: http.Request) -> http.Response:
        asked.append(request.raw_path)
        return http.json_response({"id": 7, "username": name})

    client = Gateway(gateway_server(gateway))
    try:
        assert (await client.user_by_name(Caller("127.0.0.1", token="t"), name))["id"] == 7
    finally:
        await client.close()
    assert asked == [f"/api/users/by-name/{encoded}"]


@pytest.mark.parametrize(("name", "encoded"), NAMES)
def test_links_and_forms_put_a_username_into_the_path_encoded(name, encoded):
    user = {"id": 7, "username": name, "about_me": "", "last_seen": None, "follower_count": 0, "followed_count": 0}
    user |= {"_links": {"avatar": "/avatar.png"}}
    page = make_environment().get_template("user_popup.html")
    html = page.render(user=user, visitor={"user_id": 1}, csrf_token="t")
    assert f'href="/user/{encoded}"' in html
    assert f'action="/follow/{encoded}"' in html
