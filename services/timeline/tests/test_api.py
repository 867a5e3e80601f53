"""The timeline read API: shapes, errors, consistency waits."""

import asyncio
import hashlib

import pytest

from timeline.views import avatar


async def test_a_read_waits_for_the_projection_to_reach_the_callers_write(world):
    await world.register(1)
    await world.settle()
    reading = asyncio.create_task(
        world.client.get("/users/1/posts", headers={"X-Consistency-Token": "posts.posts:post-5:1"})
    )
    await asyncio.sleep(0.3)
    assert not reading.done()
    await world.post(5, 1)
    response = await reading
    assert response.headers["X-Consistency-Reached"] == "true"
    assert [p["id"] for p in response.json()["items"]] == [5]


async def test_a_read_with_tokens_of_two_streams_waits_for_both(world):
    susan, john = 1, 2
    await world.register(susan)
    await world.register(john)
    await world.post(6, john)
    await world.settle()
    tokens = f"social.follows:follow-{susan}-{john}:1, posts.posts:post-5:1"  # she posted, then followed john
    reading = asyncio.create_task(
        world.client.get("/timeline", headers={"X-User-Id": str(susan), "X-Consistency-Token": tokens})
    )
    await world.follow(susan, john)
    await asyncio.sleep(0.5)
    assert not reading.done()  # the follow is applied, her post not yet
    await world.post(5, susan)
    response = await reading
    assert response.headers["X-Consistency-Reached"] == "true"
    assert sorted(p["id"] for p in response.json()["items"]) == [5, 6]


async def test_the_wait_is_bounded(world):
    await world.register(1)
    await world.settle()
    started = asyncio.get_running_loop().time()
    response = await world.client.get(
        "/users/1/posts", headers={"X-Consistency-Token": "posts.posts:post-99:1", "X-Consistency-Timeout": "0.3"}
    )
    assert 0.25 < asyncio.get_running_loop().time() - started < 1.5
    assert response.status_code == 200
    assert response.headers["X-Consistency-Reached"] == "false"


async def test_tokens_of_topics_the_timeline_does_not_read_need_no_wait(world):
    await world.register(1)
    await world.settle()
    response = await world.client.get("/users/1/posts", headers={"X-Consistency-Token": "messaging.messages:m-1:1"})
    assert response.headers["X-Consistency-Reached"] == "true"


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "posts.posts:post-1",
        "posts.posts:post-1:x",
        "a:b:1:2",
        "posts.posts:post-1:1,",
        "posts.posts:post-1:1,garbage",
        ",".join(f"posts.posts:post-{n}:1" for n in range(9)),
    ],
)
async def test_malformed_tokens_are_400(world, token):
    response = await world.client.get("/users/1/posts", headers={"X-Consistency-Token": token})
    assert response.status_code == 400
    assert "X-Consistency-Token" in response.json()["message"]


async def test_a_user_reads_like_the_seed_api_with_email_only_for_themself(world):
    await world.register(1, "susan")
    await world.register(2, "john")
    await world.follow(2, 1)
    await world.post(10, 1)
    await world.seen(1, world.tick())
    susan = (await world.get("/users/1", viewer=1)).json()
    assert susan == {
        "id": 1,
        "username": "susan",
        "last_seen": "2026-11-24T12:00:05Z",
        "about_me": "",
        "post_count": 1,
        "follower_count": 1,
        "followed_count": 0,
        "email": "susan@example.com",
        "_links": {
            "self": "/api/users/1",
            "followers": "/api/users/1/followers",
            "followed": "/api/users/1/followed",
            "avatar": avatar("susan@example.com", 128),
        },
    }
    seen_by_john = (await world.get("/users/1", viewer=2)).json()
    assert "email" not in seen_by_john and seen_by_john["is_following"] is True
    digest = hashlib.md5(b"susan@example.com").hexdigest()
    assert avatar(" Susan@Example.com", 36) == f"https://www.gravatar.com/avatar/{digest}?d=identicon&s=36"
    by_name = await world.get("/users/by-name/SUSAN", viewer=2)
    assert by_name.json()["id"] == 1


async def test_a_user_is_last_seen_when_registered_until_a_later_sighting(world):
    await world.register(1, "susan")
    registered = (await world.get("/users/1", viewer=1)).json()["last_seen"]
    later = world.tick()
    await world.seen(1, later)
    assert registered == "2026-11-24T12:00:01Z"
    assert (await world.get("/users/1", viewer=1)).json()["last_seen"] == later.isoformat().replace("+00:00", "Z")


async def test_profile_changes_and_last_seen_reach_the_read_model(world):
    await world.register(1, "susan")
    await world.rename(1, "susan2", about_me="hello")
    late = world.tick()
    await world.seen(1, late)
    await world.seen(1, late.replace(hour=1))  # an older sighting never moves last_seen back
    user = (await world.get("/users/1", viewer=1)).json()
    assert (user["username"], user["about_me"], user["email"]) == ("susan2", "hello", "susan2@example.com")
    assert user["last_seen"] == late.isoformat().replace("+00:00", "Z")
    assert (await world.get("/users/by-name/susan", viewer=1)).status_code == 404


async def test_users_followers_and_followed_are_collections(world):
    for n in range(1, 5):
        await world.register(n)
    for n in (2, 3, 4):
        await world.follow(n, 1)
    await world.follow(1, 2)
    everyone = (await world.get("/users", viewer=1, per_page=3)).json()
    assert [u["id"] for u in everyone["items"]] == [1, 2, 3]
    assert everyone["_meta"]["total_items"] == 4
    rest = (await world.get("/users", viewer=1, per_page=3, after=everyone["_meta"]["next_after"])).json()
    assert [u["id"] for u in rest["items"]] == [4]
    followers = (await world.get("/users/1/followers", viewer=1)).json()
    assert [u["id"] for u in followers["items"]] == [4, 3, 2]  # the latest follower first
    assert followers["_meta"]["total_items"] == 3
    assert [u["is_following"] for u in followers["items"]] == [False, False, True]
    two = (await world.get("/users/1/followers", viewer=1, per_page=2)).json()
    more = (await world.get("/users/1/followers", viewer=1, per_page=2, after=two["_meta"]["next_after"])).json()
    assert [u["id"] for u in two["items"] + more["items"]] == [4, 3, 2]
    assert [u["id"] for u in (await world.get("/users/1/followed", viewer=1)).json()["items"]] == [2]


async def test_posts_carry_language_author_and_links(world):
    await world.register(1, "susan")
    await world.post(7, 1, "hola mundo", language="es")
    post = (await world.get("/posts/7", viewer=1)).json()
    assert post["language"] == "es"
    assert post["author"] == {
        "id": 1,
        "username": "susan",
        "_links": {"self": "/api/users/1", "avatar": avatar("susan@example.com", 36)},
    }
    assert post["_links"] == {"self": "/api/posts/7", "author": "/api/users/1"}
    assert post["edited_at"] is None


@pytest.mark.parametrize(
    "path, status",
    [
        ("/users/42", 404),
        ("/users/42/posts", 404),
        ("/users/42/followers", 404),
        ("/posts/42", 404),
        ("/users/by-name/nobody", 404),
        ("/users/abc", 400),
        ("/users/0", 400),
        ("/posts/-1", 400),
        ("/users/99999999999999999999999", 400),
        ("/explore?per_page=0", 400),
        ("/explore?per_page=-1", 400),
        ("/explore?page=abc", 400),
        ("/explore?after=%25%25", 400),
        ("/users?after=WyJ4Il0", 400),
        ("/explore?after=WyJub3QgYSBkYXRlIiwgMV0", 400),
        ("/timeline", 401),
    ],
)
async def test_bad_requests_are_4xx_json(world, path, status):
    response = await world.client.get(path)
    assert response.status_code == status, response.text
    assert response.json()["error"]


@pytest.mark.parametrize("path", ["/users/1", "/users/1/posts", "/explore", "/timeline"])
async def test_an_unchanged_answer_is_a_304_and_a_new_post_changes_its_etag(world, path):
    await world.register(1)
    await world.post(5, 1)
    await world.settle()
    caller = {"X-User-Id": "1"}
    first = await world.client.get(path, headers=caller)
    tag = first.headers["ETag"]
    assert first.status_code == 200 and tag.startswith('"') and tag.endswith('"')
    again = await world.client.get(path, headers={**caller, "If-None-Match": tag})
    assert (again.status_code, again.content, again.headers["ETag"]) == (304, b"", tag)
    assert (await world.client.get(path, headers={**caller, "If-None-Match": f'"other", W/{tag}'})).status_code == 304
    await world.post(6, 1)
    await world.settle()
    changed = await world.client.get(path, headers={**caller, "If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert changed.json() != first.json()
