"""The spine's slice, only through the gateway: register, token, post, read your own post."""

import base64

import pytest


def test_a_post_is_visible_on_the_very_first_read(person):
    susan = person("susan")
    created = susan.post("my first post")
    assert created.status_code == 201
    assert created.headers["X-Consistency-Token"]
    page = susan.get(f"/api/users/{susan.id}/posts")
    assert page.status_code == 200
    assert page.headers.get("X-Consistency-Reached") == "true"
    items = page.json()["items"]
    assert [p["body"] for p in items] == ["my first post"]
    assert items[0]["author"]["username"] == susan.username


def test_registration_answers_201_with_location(client, person):
    response = client.post(
        "/api/users",
        json={"username": "loc" + person("x").username[1:], "email": "loc@example.org", "password": "long enough"},
    )
    assert response.status_code == 201
    assert response.headers["Location"] == f"/api/users/{response.json()['id']}"
    assert isinstance(response.json()["id"], int)


def test_usernames_and_emails_are_unique_ignoring_case(client, person):
    taken = person("dup")
    clash_name = client.post(
        "/api/users", json={"username": taken.username.upper(), "email": "other@example.com", "password": "long enough"}
    )
    assert clash_name.status_code == 400
    assert clash_name.json() == {"error": "Bad Request", "message": "please use a different username"}
    clash_email = client.post(
        "/api/users",
        json={
            "username": "someone" + taken.username,
            "email": f"{taken.username.upper()}@EXAMPLE.com",
            "password": "long enough",
        },
    )
    assert clash_email.status_code == 400
    assert clash_email.json()["message"] == "please use a different email address"


def test_registration_names_the_missing_fields_like_the_seed_api(client):
    response = client.post("/api/users", json={"username": "only"})
    assert response.json() == {"error": "Bad Request", "message": "must include username, email and password fields"}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "a"},
        {"username": "a", "email": "a@b.cd"},
        {"username": "bad name!", "email": "a@b.cd", "password": "long enough"},
        {"username": "fine", "email": "not-an-email", "password": "long enough"},
        "not json",
    ],
)
def test_bad_registrations_are_400_json(client, body):
    if isinstance(body, str):
        response = client.post("/api/users", content=body, headers={"Content-Type": "application/json"})
    else:
        response = client.post("/api/users", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request"
    assert response.json()["message"]


def test_tokens_need_the_right_password(client, person):
    susan = person("tok")
    wrong = client.post("/api/tokens", auth=(susan.username, "wrong password"))
    missing = client.post("/api/tokens")
    unknown = client.post("/api/tokens", auth=("nobody-at-all", "whatever"))
    for response in (wrong, missing, unknown):
        assert response.status_code == 401
        assert response.json() == {"error": "Unauthorized"}
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    case_insensitive = client.post("/api/tokens", auth=(susan.username.upper(), susan.password))
    assert case_insensitive.status_code == 200
    claims = case_insensitive.json()["token"].split(".")[1]
    assert b'"exp"' in base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4))


def test_writes_and_reads_need_a_valid_bearer_token(client, person):
    susan = person("auth")
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}):
        response = client.post("/api/posts", json={"body": "hi"}, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "Unauthorized"
        assert client.get(f"/api/users/{susan.id}/posts", headers=headers).status_code == 401


@pytest.mark.parametrize("body", ["", "   ", "x" * 141])
def test_post_bodies_must_have_1_to_140_characters(person, body):
    susan = person("len")
    response = susan.post(body)
    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request"
    assert susan.post("x" * 140).status_code == 201


def test_user_posts_are_paginated_newest_first(person):
    susan = person("pages")
    for n in range(23):
        assert susan.post(f"post {n}").status_code == 201
    first = susan.get(f"/api/users/{susan.id}/posts").json()
    assert {k: first["_meta"][k] for k in ("page", "per_page", "total_pages", "total_items")} == {
        "page": 1,
        "per_page": 10,
        "total_pages": 3,
        "total_items": 23,
    }
    assert [p["body"] for p in first["items"]] == [f"post {n}" for n in range(22, 12, -1)]
    assert first["_links"]["prev"] is None
    last = susan.get(first["_links"]["next"].replace("page=2", "page=3")).json()
    assert [p["body"] for p in last["items"]] == ["post 2", "post 1", "post 0"]
    assert last["_links"]["next"] is None
    big = susan.get(f"/api/users/{susan.id}/posts", per_page=100).json()
    assert len(big["items"]) == 23
    clamped = susan.get(f"/api/users/{susan.id}/posts", per_page=101).json()  # as the seed: served as 100
    assert (len(clamped["items"]), clamped["_meta"]["per_page"]) == (23, 100)
    assert susan.get(f"/api/users/{susan.id}/posts", page=0).status_code == 400


def test_unknown_users_and_bad_tokens_are_client_errors(person):
    susan = person("nf")
    missing = susan.get("/api/users/999999999/posts")
    assert missing.status_code == 404
    assert missing.json()["error"] == "Not Found"
    susan.consistency = "not a token"
    assert susan.get(f"/api/users/{susan.id}/posts").status_code == 400


def test_openapi_documents_the_public_api(client):
    assert client.get("/api/docs").status_code == 200
    spec = client.get("/api/openapi.json").json()
    assert {"/api/users", "/api/tokens", "/api/posts", "/api/users/{user_id}/posts"} <= set(spec["paths"])


def test_unknown_routes_are_json_404(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}
