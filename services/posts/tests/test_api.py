"""The posts API on real PostgreSQL, with the real language model (fixtures in conftest)."""

from datetime import UTC, datetime

import pytest

from microblog_shared.events import Event
from microblog_shared.write.eventstore import EventStore

AUTHOR = {"X-User-Id": "7"}
STRANGER = {"X-User-Id": "8"}
ENGLISH = "Just deployed to production on a Friday. Wish me luck."
SPANISH = "Acabo de desplegar en producción un viernes. Deseadme suerte."


def events_of(posts, stream="post-1"):
    return EventStore(posts.app.state.engine, "posts").read_stream(stream)


async def write(posts, body=ENGLISH, headers=AUTHOR):
    response = await posts.post("/posts", json={"body": body}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


# --- POST /posts ----------------------------------------------------------------------


async def test_writing_a_post_appends_post_created_and_answers_a_token(posts):
    response = await posts.post("/posts", json={"body": f"  {ENGLISH} "}, headers=AUTHOR)
    assert response.status_code == 201
    assert response.headers["X-Consistency-Token"] == "posts.posts:post-1:1"
    assert response.headers["Location"] == "/api/posts/1"
    answer = response.json()
    assert answer.pop("timestamp").endswith("Z")
    assert answer == {"id": 1, "body": ENGLISH, "language": "en", "author": {"id": 7}}
    (event,) = await events_of(posts)
    assert (event.type, event.schema_version) == ("PostCreated", 2)
    assert event.payload["author_id"] == 7 and event.payload["language"] == "en"


@pytest.mark.parametrize("body, language", [(SPANISH, "es"), ("今天天气很好，我们去公园散步吧。", "zh"), ("ok", "")])
async def test_a_post_s_language_is_detected(posts, body, language):
    assert (await write(posts, body))["language"] == language


async def test_a_huge_body_is_413_and_appends_nothing(posts):
    response = await posts.post("/posts", json={"body": "x" * 100_000}, headers={"X-User-Id": "7"})
    assert response.status_code == 413
    assert response.json()["error"] == "Request Entity Too Large"
    assert await EventStore(posts.app.state.engine, "posts").read_all() == []


@pytest.mark.parametrize(
    "body",
    [
        {"body": ""},
        {"body": "   "},
        {"body": "x" * 141},
        {},
        {"body": None},
        {"body": 5},
        {"body": ["a"]},
        ["hello"],
        "hello",
    ],
)
async def test_bad_bodies_are_400_and_append_nothing(posts, body):
    response = await posts.post("/posts", json=body, headers=AUTHOR)
    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request"
    assert await EventStore(posts.app.state.engine, "posts").read_all() == []


@pytest.mark.parametrize(
    "content, content_type",
    [
        (b"{not json", "application/json"),
        (b"", "application/json"),
        (b"body=hello", "application/x-www-form-urlencoded"),
        (b"\xff\xfe", "application/json"),
    ],
)
async def test_unreadable_requests_are_400(posts, content, content_type):
    response = await posts.post("/posts", content=content, headers={**AUTHOR, "Content-Type": content_type})
    assert response.status_code == 400 and response.json()["error"] == "Bad Request"


async def test_posting_needs_the_gateway_s_user(posts):
    response = await posts.post("/posts", json={"body": "hello"})
    assert response.status_code == 401


async def test_a_malformed_user_header_is_400(posts):
    response = await posts.post("/posts", json={"body": "hello"}, headers={"X-User-Id": "seven"})
    assert response.status_code == 400


# --- PUT /posts/{id} ------------------------------------------------------------------


async def test_the_author_edits_a_post_and_its_language_is_detected_again(posts):
    created = await write(posts, ENGLISH)
    response = await posts.put("/posts/1", json={"body": SPANISH}, headers=AUTHOR)
    assert response.status_code == 200
    assert response.headers["X-Consistency-Token"] == "posts.posts:post-1:2"
    answer = response.json()
    assert answer.pop("edited_at").endswith("Z")
    assert answer == {**created, "body": SPANISH, "language": "es"}  # timestamp: still the creation time
    _, edited = await events_of(posts)
    assert edited.type == "PostEdited" and edited.payload["language"] == "es"


async def test_an_edit_to_the_same_body_appends_nothing(posts):
    created = await write(posts)
    response = await posts.put("/posts/1", json={"body": f" {ENGLISH}  "}, headers=AUTHOR)
    assert response.status_code == 200
    assert response.json() == {**created, "edited_at": None}
    assert response.headers["X-Consistency-Token"] == "posts.posts:post-1:1"
    assert len(await events_of(posts)) == 1


async def test_someone_else_cannot_edit_a_post_and_nothing_changes(posts):
    await write(posts)
    response = await posts.put("/posts/1", json={"body": "mine now"}, headers=STRANGER)
    assert response.status_code == 403
    assert response.json() == {"error": "Forbidden", "message": "you can only edit your own posts"}
    assert [e.type for e in await events_of(posts)] == ["PostCreated"]


@pytest.mark.parametrize("body", [{"body": ""}, {"body": "x" * 141}, {"body": 5}, {}])
async def test_an_edit_with_a_bad_body_is_400_and_changes_nothing(posts, body):
    await write(posts)
    response = await posts.put("/posts/1", json=body, headers=AUTHOR)
    assert response.status_code == 400
    assert len(await events_of(posts)) == 1


async def test_editing_a_missing_post_is_404(posts):
    response = await posts.put("/posts/41", json={"body": "hello"}, headers=AUTHOR)
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found", "message": "post not found"}


async def test_a_deleted_post_cannot_be_edited(posts):
    await write(posts)
    assert (await posts.delete("/posts/1", headers=AUTHOR)).status_code == 204
    response = await posts.put("/posts/1", json={"body": "back again"}, headers=AUTHOR)
    assert response.status_code == 404
    assert [e.type for e in await events_of(posts)] == ["PostCreated", "PostDeleted"]


@pytest.mark.parametrize("post_id", ["abc", "1.5", "0", "-1", "99999999999999999999999", "%20"])
async def test_bad_post_ids_are_400(posts, post_id):
    for response in (
        await posts.put(f"/posts/{post_id}", json={"body": "hello"}, headers=AUTHOR),
        await posts.delete(f"/posts/{post_id}", headers=AUTHOR),
    ):
        assert response.status_code == 400 and response.json()["error"] == "Bad Request"


async def test_editing_needs_the_gateway_s_user(posts):
    await write(posts)
    assert (await posts.put("/posts/1", json={"body": "hello"})).status_code == 401


class PostCreatedV1(Event):
    """PostCreated as schema version 1 wrote it: no language."""

    type_name = "PostCreated"
    topic = "posts.posts"

    post_id: int
    author_id: int
    body: str
    created_at: datetime


async def test_a_post_written_before_languages_can_still_be_edited(posts):
    old = PostCreatedV1(
        post_id=5, author_id=7, body="written long ago", created_at=datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    )
    await posts.app.state.store.append("post-5", 0, [old])
    (stored,) = await events_of(posts, "post-5")
    assert stored.schema_version == 1 and "language" not in stored.payload

    response = await posts.put("/posts/5", json={"body": SPANISH}, headers=AUTHOR)
    assert response.status_code == 200
    assert response.json()["timestamp"] == "2020-01-02T03:04:05Z"
    assert response.json()["language"] == "es"
    assert (await posts.put("/posts/5", json={"body": "mine"}, headers=STRANGER)).status_code == 403


# --- DELETE /posts/{id} ---------------------------------------------------------------


async def test_the_author_deletes_a_post(posts):
    await write(posts)
    response = await posts.delete("/posts/1", headers=AUTHOR)
    assert response.status_code == 204 and response.content == b""
    assert response.headers["X-Consistency-Token"] == "posts.posts:post-1:2"
    _, deleted = await events_of(posts)
    assert deleted.type == "PostDeleted" and deleted.payload["author_id"] == 7


async def test_someone_else_cannot_delete_a_post_and_nothing_changes(posts):
    await write(posts)
    response = await posts.delete("/posts/1", headers=STRANGER)
    assert response.status_code == 403
    assert response.json() == {"error": "Forbidden", "message": "you can only delete your own posts"}
    assert [e.type for e in await events_of(posts)] == ["PostCreated"]


async def test_a_missing_or_already_deleted_post_is_404(posts):
    assert (await posts.delete("/posts/1", headers=AUTHOR)).status_code == 404
    await write(posts)
    assert (await posts.delete("/posts/1", headers=AUTHOR)).status_code == 204
    response = await posts.delete("/posts/1", headers=AUTHOR)
    assert response.status_code == 404 and response.json()["message"] == "post not found"
    assert len(await events_of(posts)) == 2


async def test_deleting_needs_the_gateway_s_user(posts):
    await write(posts)
    assert (await posts.delete("/posts/1")).status_code == 401


async def test_a_user_s_post_count_is_their_live_posts_now(posts):
    for body in ("one", "two", "three"):
        await write(posts, body)
    await write(posts, "not mine", headers=STRANGER)
    assert (await posts.delete("/posts/2", headers=AUTHOR)).status_code == 204
    assert (await posts.get("/users/7/post-count")).json() == {"post_count": 2}
    assert (await posts.get("/users/9/post-count")).json() == {"post_count": 0}
    assert (await posts.get("/users/0/post-count")).status_code == 400
