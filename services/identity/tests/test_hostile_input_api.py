"""Client input never causes a 500: every refusal is a JSON 4xx, and nothing is written."""

import pytest

JSON = {"Content-Type": "application/json"}
LONE_SURROGATE = '"\\ud800x"'


@pytest.mark.parametrize("field", ["username", "email", "password", "about_me"])
async def test_lone_surrogates_in_a_registration_are_400s(identity, field):
    fields = {
        "username": '"susan"',
        "email": '"susan@example.com"',
        "password": '"a long password"',
        "about_me": '""',
        field: LONE_SURROGATE,
    }
    body = "{" + ",".join(f'"{k}": {v}' for k, v in fields.items()) + "}"
    response = await identity.post("/users", content=body, headers=JSON)
    assert response.status_code == 400 and field in response.json()["message"], response.text
    assert await identity.store.read_all() == []


async def test_nul_bytes_in_a_profile_are_400s(identity, signed_up):
    susan = await signed_up("susan")
    for field in ("username", "email", "about_me"):
        response = await identity.put(
            f"/users/{susan}", json={field: "a\x00b@example.com"}, headers={"X-User-Id": str(susan)}
        )
        assert response.status_code == 400 and field in response.json()["message"], response.text


async def test_lone_surrogates_in_a_profile_or_password_change_are_400s(identity, signed_up):
    susan = await signed_up("susan")
    headers = {**JSON, "X-User-Id": str(susan)}
    for field in ("username", "email", "about_me"):
        response = await identity.put(f"/users/{susan}", content=f'{{"{field}": {LONE_SURROGATE}}}', headers=headers)
        assert response.status_code == 400, response.text
    change = f'{{"current_password": "a long password", "new_password": {LONE_SURROGATE}}}'
    response = await identity.post(f"/users/{susan}/password", content=change, headers=headers)
    assert response.status_code == 400 and "new_password" in response.json()["message"], response.text
    wrong = f'{{"current_password": {LONE_SURROGATE}, "new_password": "a newer password"}}'
    response = await identity.post(f"/users/{susan}/password", content=wrong, headers=headers)
    assert response.status_code == 400, response.text


async def test_a_lone_surrogate_refresh_token_is_a_400(identity):
    response = await identity.put("/tokens", content=f'{{"refresh_token": {LONE_SURROGATE}}}', headers=JSON)
    assert response.status_code == 400 and "refresh_token" in response.json()["message"]


@pytest.mark.parametrize(
    "method, path", [("POST", "/users"), ("PUT", "/users/1"), ("PUT", "/tokens"), ("POST", "/users/1/password")]
)
@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[1, 2]", b"null", b'"text"'])
async def test_broken_json_bodies_are_400s(identity, signed_up, method, path, body):
    await signed_up("susan")
    response = await identity.request(method, path, content=body, headers={**JSON, "X-User-Id": "1"})
    assert response.status_code == 400 and response.json()["error"] == "Bad Request", response.text


async def test_huge_bodies_are_refused_with_413(identity):
    big = b'{"username": "' + b"x" * 200_000 + b'"}'
    response = await identity.post("/users", content=big, headers=JSON)
    assert (response.status_code, response.json()["error"]) == (413, "Request Entity Too Large")

    async def chunks():
        for _ in range(100):
            yield b"x" * 1000

    streamed = await identity.post("/users", content=chunks(), headers=JSON)
    assert streamed.status_code == 413 and "Content-Length" not in streamed.request.headers
    assert await identity.store.read_all() == []


async def test_bad_ids_in_paths_and_headers_are_4xx(identity, signed_up):
    susan = await signed_up("susan")
    assert (await identity.get("/users/1.5")).status_code == 400
    assert (await identity.post(f"/users/{2**64}/seen")).status_code == 404
    huge = await identity.put(f"/users/{2**64}", json={"about_me": "x"}, headers={"X-User-Id": str(2**64)})
    assert huge.status_code == 404
    wrong_type = await identity.put(f"/users/{susan}", json={"about_me": "x"}, headers={"X-User-Id": "me"})
    assert wrong_type.status_code == 400
    long_sid = await identity.delete("/tokens", headers={"X-User-Id": str(susan), "X-Session-Id": "s" * 65})
    assert long_sid.status_code == 400


async def test_malformed_basic_credentials_are_401(identity):
    for value in ("Basic !!!not-base64", "Basic " + "bm9jb2xvbg==", "Bearer abc"):
        response = await identity.post("/tokens", headers={"Authorization": value})
        assert response.status_code == 401 and response.json()["error"] == "Unauthorized"
