"""Only the two parties ever see a message: no route shows it to anybody else."""

from sqlalchemy import text


def as_user(user_id: int) -> dict:
    return {"X-User-Id": str(user_id)}


async def test_a_third_user_never_sees_a_message(messaging, susan_john_and_mary):
    susan, john, mary = susan_john_and_mary
    sent = await messaging.post(f"/users/{john}/messages", json={"body": "just for john"}, headers=as_user(susan))
    assert sent.status_code == 201
    for reader in (mary, susan):  # the sender's inbox holds what they received, not what they sent
        inbox = await messaging.get("/messages", headers=as_user(reader))
        assert inbox.json()["items"] == [] and inbox.json()["_meta"]["total_items"] == 0
        assert "just for john" not in inbox.text
    assert [m["body"] for m in (await messaging.get("/messages", headers=as_user(john))).json()["items"]] == [
        "just for john"
    ]


async def test_a_third_user_reading_marks_nothing_of_anybody_else(messaging, susan_john_and_mary):
    susan, john, mary = susan_john_and_mary
    await messaging.post(f"/users/{john}/messages", json={"body": "unread"}, headers=as_user(susan))
    await messaging.get("/messages", headers=as_user(mary))
    async with messaging.app.state.engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM messages WHERE read_at IS NOT NULL")) == 0


async def test_there_is_no_route_to_read_a_message_or_another_inbox(messaging, susan_john_and_mary):
    susan, john, mary = susan_john_and_mary
    message = (await messaging.post(f"/users/{john}/messages", json={"body": "x"}, headers=as_user(susan))).json()
    for path in (f"/messages/{message['id']}", f"/users/{john}/messages"):
        assert (await messaging.get(path, headers=as_user(mary))).status_code in (404, 405)
