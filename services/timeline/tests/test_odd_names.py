"""Names from before identity's username rules ('.', '..') are found by the encoded path the gateway sends."""

import pytest


@pytest.mark.parametrize(("name", "path"), [("..", "/users/by-name/%2E%2E"), (".", "/users/by-name/%2E")])
async def test_an_older_dot_name_is_found_through_its_encoded_segment(world, name, path):
    await world.register(1, name)
    response = await world.get(path, viewer=1)
    assert (response.status_code, response.json()["username"]) == (200, name)
