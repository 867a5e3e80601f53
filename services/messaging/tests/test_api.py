import pytest

from messaging.app import create_app
from messaging.settings import MessagingSettings
from microblog_shared.write.eventstore import EventStore


def as_user(user_id: int, **headers) -> dict:
    return {"X-User-Id": str(user_id), **headers}


async def events_of(client, stream_id: str):
    return await EventStore(client.app.state.engine, "messaging").read_stream(stream_id)


async def test_sending_answers_201_with_the_message_and_the_inbox_s_token(messaging, susan_john_and_mary):
    susan, john, _ = susan_john_and_mary
    response = await messaging.post(f"/users/{john}/messages", json={"body": " hi john "}, headers=as_user(susan))
    assert response.status_code == 201, response.text
    message = response.json()
    assert message["body"] == "hi john" and message["timestamp"].endswith("Z") and message["read_at"] is None
    assert message["sender"] == {"id": susan, "username": "susan", "_links": {"self": f"/api/users/{susan}"}}
    assert message["recipient"] == {"id": john, "username": "john", "_links": {"self": f"/api/users/{john}"}}
    assert response.headers["X-Consistency-Token"] == f"messaging.messages:inbox-{john}:1"
    (event,) = await events_of(messaging, f"inbox-{john}")
    assert (event.type, event.payload["message_id"], event.payload["sender_id"]) == (
        "MessageSent",
        message["id"],
        susan,
    )


async def test_the_recipient_sees_the_message_at_once_newest_first(messaging, susan_john_and_mary):
    susan, john, mary = susan_john_and_mary
    first = (await messaging.post(f"/users/{john}/messages", json={"body": "one"}, headers=as_user(susan))).json()
    second = (await messaging.post(f"/users/{john}/messages", json={"body": "two"}, headers=as_user(mary))).json()
    inbox = (await messaging.get("/messages", headers=as_user(john))).json()
    assert [m["id"] for m in inbox["items"]] == [second["id"], first["id"]]
    assert [m["sender"]["id"] for m in inbox["items"]] == [mary, susan]
    assert inbox["_meta"]["total_items"] == 2


async def test_reading_the_inbox_marks_every_message_read_once(messaging, susan_john_and_mary):
    susan, john, _ = susan_john_and_mary
    sent = [
        (await messaging.post(f"/users/{john}/messages", json={"body": f"m{i}"}, headers=as_user(susan))).json()
        for i in range(2)
    ]
    first_read = await messaging.get("/messages", headers=as_user(john))
    assert [m["read_at"] for m in first_read.json()["items"]] == [None, None]  # as they were when opened
    assert first_read.headers["X-Consistency-Token"] == f"messaging.messages:inbox-{john}:3"
    second_read = await messaging.get("/messages", headers=as_user(john))
    assert all(m["read_at"] for m in second_read.json()["items"])
    assert "X-Consistency-Token" not in second_read.headers  # nothing was unread: nothing appended
    types = [(e.type, e.payload.get("up_to_message_id")) for e in await events_of(messaging, f"inbox-{john}")]
    assert types == [("MessageSent", None), ("MessageSent", None), ("MessagesRead", sent[-1]["id"])]


async def test_the_inbox_pages_by_number_and_by_keyset_cursor(messaging, susan_john_and_mary):
    susan, john, _ = susan_john_and_mary
    ids = [
        (await messaging.post(f"/users/{john}/messages", json={"body": f"m{i}"}, headers=as_user(susan))).json()["id"]
        for i in range(5)
    ]
    newest_first = ids[::-1]
    page1 = (await messaging.get("/messages", params={"per_page": 2}, headers=as_user(john))).json()
    assert [m["id"] for m in page1["items"]] == newest_first[:2]
    assert page1["_meta"] | {"next_after": None} == {
        "page": 1,
        "per_page": 2,
        "total_pages": 3,
        "total_items": 5,
        "next_after": None,
    }
    assert page1["_links"]["next"] == "/api/messages?page=2&per_page=2"
    page2 = (await messaging.get("/messages", params={"page": 2, "per_page": 2}, headers=as_user(john))).json()
    assert [m["id"] for m in page2["items"]] == newest_first[2:4]
    after = (
        await messaging.get(
            "/messages", params={"after": page1["_meta"]["next_after"], "per_page": 2}, headers=as_user(john)
        )
    ).json()
    assert [m["id"] for m in after["items"]] == newest_first[2:4]
    bad = await messaging.get("/messages", params={"after": "bm9wZQ"}, headers=as_user(john))
    assert bad.status_code == 400


async def test_an_unknown_recipient_is_404_and_appends_nothing(messaging, register):
    susan = await register("susan")
    response = await messaging.post("/users/999/messages", json={"body": "hello?"}, headers=as_user(susan))
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found", "message": "user 999 not found"}
    assert await EventStore(messaging.app.state.engine, "messaging").read_all() == []


@pytest.mark.parametrize(
    "body, message",
    [
        ({"body": ""}, "a message needs a body"),
        ({"body": "   "}, "a message needs a body"),
        ({"body": "x" * 141}, "a message has at most 140 characters"),
    ],
)
async def test_bad_bodies_are_400_json(messaging, susan_john_and_mary, body, message):
    susan, john, _ = susan_john_and_mary
    response = await messaging.post(f"/users/{john}/messages", json=body, headers=as_user(susan))
    assert (response.status_code, response.json()) == (400, {"error": "Bad Request", "message": message})


async def test_messaging_yourself_is_a_400(messaging, register):
    susan = await register("susan")
    response = await messaging.post(f"/users/{susan}/messages", json={"body": "me"}, headers=as_user(susan))
    assert response.json() == {"error": "Bad Request", "message": "you cannot send a message to yourself"}


@pytest.mark.parametrize(
    "method, path, headers, json",
    [
        ("POST", "/users/abc/messages", as_user(1), {"body": "x"}),
        ("POST", "/users/0/messages", as_user(1), {"body": "x"}),
        ("POST", f"/users/{2**63}/messages", as_user(1), {"body": "x"}),
        ("POST", "/users/2/messages", as_user(0), {"body": "x"}),
        ("POST", "/users/2/messages", {"X-User-Id": "susan"}, {"body": "x"}),
        ("POST", "/users/2/messages", as_user(1), {"text": "x"}),
        ("POST", "/users/2/messages", as_user(1), {"body": 5}),
        ("GET", "/messages", as_user(-1), None),
        ("GET", "/messages?per_page=0", as_user(1), None),
    ],
)
async def test_bad_input_is_400_json(messaging, method, path, headers, json):
    response = await messaging.request(method, path, headers=headers, json=json)
    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request"


async def test_messages_need_the_gateway_s_user(messaging):
    assert (await messaging.post("/users/1/messages", json={"body": "x"})).status_code == 401
    assert (await messaging.get("/messages")).status_code == 401


async def test_identity_unreachable_is_a_503(migrated_database, service_client, unreachable_identity):
    app = create_app(
        MessagingSettings(environment="test", database_url=migrated_database("messaging")), unreachable_identity
    )
    client = await service_client(app)
    response = await client.post("/users/2/messages", json={"body": "x"}, headers=as_user(1))
    assert response.status_code == 503
    assert response.json()["error"] == "Service Unavailable"


@pytest.mark.parametrize(
    "cursor", ["WyJ0cnVlIl0", "W3RydWVd", "WzEwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMF0", "WzEsMl0"]
)
async def test_a_cursor_the_inbox_did_not_issue_is_400(messaging, susan_john_and_mary, cursor):
    _, john, _ = susan_john_and_mary
    response = await messaging.get("/messages", params={"after": cursor}, headers=as_user(john))
    assert response.status_code == 400, response.text
    assert response.json() == {"error": "Bad Request", "message": "malformed cursor in 'after'"}


@pytest.mark.parametrize("body", ["a\x00b", "bell\x07"])
async def test_a_control_character_in_a_message_is_400_and_appends_nothing(messaging, susan_john_and_mary, body):
    susan, john, _ = susan_john_and_mary
    response = await messaging.post(f"/users/{john}/messages", json={"body": body}, headers=as_user(susan))
    assert response.status_code == 400, response.text
    assert await events_of(messaging, f"inbox-{john}") == []
    sent = await messaging.post(f"/users/{john}/messages", json={"body": "hello"}, headers=as_user(susan))
    assert sent.status_code == 201, sent.text
