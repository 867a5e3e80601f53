"""The social core through the gateway: profiles, tokens, follows, posts, timelines."""

import time

import httpx
import jwt
import pytest


def ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_users_read_like_the_seed_api(person):
    ann, bob = person("ann"), person("bob")
    me = ann.get("/api/me").json()
    assert me["id"] == ann.id and me["email"] == f"{ann.username}@example.com"
    assert set(me["_links"]) == {"self", "followers", "followed", "avatar"}
    assert (
        me["_links"]["avatar"].startswith("https://www.gravatar.com/avatar/")
        and "d=identicon" in me["_links"]["avatar"]
    )
    # last_seen follows activity asynchronously (reported at most once a minute per user)
    assert eventually(lambda: (ann.get("/api/me").json()["last_seen"] or "").endswith("Z"))
    other = ann.get(f"/api/users/{bob.id}").json()
    assert "email" not in other and other["username"] == bob.username
    assert ann.get(f"/api/users/by-name/{bob.username.upper()}").json()["id"] == bob.id
    assert ann.get("/api/users/999999999").status_code == 404
    listing = ann.get("/api/users", per_page=100).json()
    assert {ann.id, bob.id} <= {u["id"] for u in listing["items"]} or listing["_meta"]["total_items"] > 100


def test_profiles_change_only_by_their_owner_and_names_stay_unique(person):
    ann, bob = person("ann"), person("bob")
    changed = ann.send("PUT", f"/api/users/{ann.id}", json={"about_me": "I write things"})
    assert changed.status_code == 200 and changed.json()["about_me"] == "I write things"
    assert ann.get(f"/api/users/{ann.id}").json()["about_me"] == "I write things"
    assert ann.send("PUT", f"/api/users/{bob.id}", json={"about_me": "hacked"}).status_code == 403
    taken = ann.send("PUT", f"/api/users/{ann.id}", json={"username": bob.username.upper()})
    assert (taken.status_code, taken.json()["message"]) == (400, "please use a different username")
    assert ann.send("PUT", f"/api/users/{ann.id}", json={"about_me": "x" * 141}).status_code == 400
    renamed = ann.send("PUT", f"/api/users/{ann.id}", json={"username": ann.username + "x"})
    assert renamed.json()["username"] == ann.username + "x"


def test_password_change_keeps_this_session_and_ends_the_others(client, person):
    ann = person("pw")
    other = client.post("/api/tokens", auth=(ann.username, ann.password)).json()["token"]
    assert (
        ann.send(
            "POST",
            f"/api/users/{ann.id}/password",
            json={"current_password": "wrong one!", "new_password": "a new long one"},
        ).status_code
        == 400
    )
    assert (
        ann.send(
            "POST",
            f"/api/users/{ann.id}/password",
            json={"current_password": ann.password, "new_password": "a new long one"},
        ).status_code
        == 204
    )
    assert ann.get("/api/me").status_code == 200
    assert eventually(lambda: client.get("/api/me", headers={"Authorization": f"Bearer {other}"}).status_code == 401)
    assert client.post("/api/tokens", auth=(ann.username, ann.password)).status_code == 401
    assert client.post("/api/tokens", auth=(ann.username, "a new long one")).status_code == 200


def test_refresh_tokens_rotate_and_reuse_signs_the_user_out_everywhere(client, person):
    ann = person("rt")
    first = ann.tokens
    claims = jwt.decode(first["token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 3600
    rotated = client.put("/api/tokens", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200 and rotated.json()["refresh_token"] != first["refresh_token"]
    fresh = {"Authorization": f"Bearer {rotated.json()['token']}"}
    assert client.get("/api/me", headers=fresh).status_code == 200
    reused = client.put("/api/tokens", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert eventually(lambda: client.get("/api/me", headers=fresh).status_code == 401)
    assert client.put("/api/tokens", json={"refresh_token": rotated.json()["refresh_token"]}).status_code == 401


def test_a_deleted_token_is_dead_at_once(client, person):
    ann = person("del")
    assert client.delete("/api/tokens", headers=ann.headers).status_code == 204
    gone = client.get("/api/me", headers=ann.headers)
    assert gone.status_code == 401 and gone.headers["WWW-Authenticate"].startswith("Bearer")


def test_follow_unfollow_and_the_home_timeline(person):
    ann, bob, cat = person("ann"), person("bob"), person("cat")
    bob.send("POST", "/api/posts", json={"body": "bob speaks"})
    cat.send("POST", "/api/posts", json={"body": "cat speaks"})
    ann.send("POST", "/api/posts", json={"body": "ann speaks"})
    ann.send("POST", f"/api/users/{bob.id}/follow")  # her next read waits for her post and this follow
    ann.waits_for(bob)  # and for bob's post, answered before the timeline had it
    assert ann.send("POST", f"/api/users/{bob.id}/follow").status_code == 204  # twice changes nothing
    home = ann.get("/api/timeline").json()
    assert [p["body"] for p in home["items"]] == ["ann speaks", "bob speaks"]
    assert ann.get(f"/api/users/{bob.id}").json()["follower_count"] == 1
    assert ann.get(f"/api/users/{bob.id}").json()["is_following"] is True
    assert ids(ann.get(f"/api/users/{bob.id}/followers")) == [ann.id]
    assert ids(ann.get(f"/api/users/{ann.id}/followed")) == [bob.id]
    assert ann.send("DELETE", f"/api/users/{bob.id}/follow").status_code == 204
    assert [p["body"] for p in ann.get("/api/timeline").json()["items"]] == ["ann speaks"]
    assert ann.get(f"/api/users/{bob.id}").json()["follower_count"] == 0
    assert ann.send("POST", f"/api/users/{ann.id}/follow").status_code == 400
    assert ann.send("POST", "/api/users/999999999/follow").status_code == 404


def test_posts_are_written_read_edited_and_deleted_by_their_author(person):
    ann, bob = person("ann"), person("bob")
    created = ann.send("POST", "/api/posts", json={"body": "Hola a todos, ¿cómo están hoy?"})
    assert created.status_code == 201
    post = created.json()
    assert post["language"] == "es" and post["author"] == {
        "id": ann.id,
        "username": ann.username,
        "_links": post["author"]["_links"],
    }
    assert set(post["_links"]) == {"self", "author"} and post["timestamp"].endswith("Z")
    assert ann.get(f"/api/posts/{post['id']}").json()["body"] == post["body"]
    assert bob.send("PUT", f"/api/posts/{post['id']}", json={"body": "mine now"}).status_code == 403
    assert bob.send("DELETE", f"/api/posts/{post['id']}").status_code == 403
    edited = ann.send("PUT", f"/api/posts/{post['id']}", json={"body": "Hello everyone, how are you today?"})
    assert edited.status_code == 200 and edited.json()["language"] == "en" and edited.json()["edited_at"]
    assert ann.get(f"/api/users/{ann.id}/posts").json()["items"][0]["body"].startswith("Hello everyone")
    assert ann.send("DELETE", f"/api/posts/{post['id']}").status_code == 204
    assert ann.get(f"/api/posts/{post['id']}").status_code == 404
    assert ann.send("PUT", f"/api/posts/{post['id']}", json={"body": "again"}).status_code == 404
    assert ann.get(f"/api/users/{ann.id}").json()["post_count"] == 0


def test_explore_and_cursors_page_through_everything(person):
    ann = person("exp")
    for n in range(12):
        ann.send("POST", "/api/posts", json={"body": f"explore {n}"})
    by_cursor, after = [], None
    while len(by_cursor) < 12:
        page = ann.get(f"/api/users/{ann.id}/posts", per_page=5, **({"after": after} if after else {})).json()
        by_cursor += [p["body"] for p in page["items"]]
        after = page["_meta"]["next_after"]
    assert by_cursor == [f"explore {n}" for n in range(11, -1, -1)]
    explore = ann.get("/api/explore", per_page=3).json()
    assert explore["items"][0]["body"] == "explore 11" and explore["_meta"]["total_items"] >= 12


@pytest.mark.parametrize(
    "method, path, kwargs",
    [
        ("GET", "/api/users/abc", {}),
        ("GET", "/api/users/0", {}),
        ("GET", "/api/posts/99999999999999999999", {}),
        ("GET", "/api/explore?per_page=0", {}),
        ("GET", "/api/explore?after=!!!", {}),
        ("GET", "/api/timeline?page=-3", {}),
        ("POST", "/api/posts", {"content": b"{bad json"}),
        ("POST", "/api/posts", {"json": {"body": 42}}),
        ("POST", "/api/posts", {"json": ["not", "an", "object"]}),
        ("PUT", "/api/users/1", {"json": {"nope": 1}}),
        ("POST", "/api/posts", {"content": b"x" * 200_000}),
        ("PUT", "/api/tokens", {"json": {}}),
    ],
)
def test_client_mistakes_are_4xx_json_never_500(person, method, path, kwargs):
    ann = person("bad")
    headers = dict(ann.headers)
    if "content" in kwargs:
        headers["Content-Type"] = "application/json"
    response = ann.client.request(method, path, headers=headers, **kwargs)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.json()["error"]


@pytest.mark.parametrize(
    "token",
    [
        "not.a.jwt",
        jwt.encode({"sub": "1", "sid": "x", "exp": 1}, "wrong secret that is long enough", algorithm="HS256"),
        jwt.encode(
            {"sub": "1", "sid": "x", "exp": int(time.time()) + 60},
            "forged secret that is long enough",
            algorithm="HS256",
        ),
    ],
)
def test_forged_and_expired_tokens_are_401(client, token):
    response = client.get("/api/timeline", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.json()["error"] == "Unauthorized"


def eventually(check, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False
