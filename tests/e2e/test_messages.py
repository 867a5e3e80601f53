"""Private messages through the gateway: sent, seen at once by the recipient only, read marks."""

import uuid


def test_a_message_reaches_its_recipient_at_once_and_nobody_else(person):
    susan, john, mary = person("susan"), person("john"), person("mary")
    sent = susan.send("POST", f"/api/users/{john.id}/messages", json={"body": "  lunch tomorrow?  "})
    assert sent.status_code == 201, sent.text
    message = sent.json()
    assert message["body"] == "lunch tomorrow?" and message["timestamp"].endswith("Z")
    assert (message["sender"]["id"], message["sender"]["username"]) == (susan.id, susan.username)
    assert (message["recipient"]["id"], message["recipient"]["username"]) == (john.id, john.username)
    assert sent.headers["X-Consistency-Token"] == f"messaging.messages:inbox-{john.id}:1"

    inbox = john.get("/api/messages")
    assert inbox.status_code == 200, inbox.text
    assert [(m["id"], m["body"], m["read_at"]) for m in inbox.json()["items"]] == [
        (message["id"], "lunch tomorrow?", None)
    ]
    for outsider in (mary, susan):  # the sender's inbox holds what they received only
        assert outsider.get("/api/messages").json()["items"] == []


def test_reading_the_inbox_marks_it_read_newest_first_and_pages(person):
    ann, bob, cat = person("ann"), person("bob"), person("cat")
    for sender, body in ((ann, "one"), (cat, "two"), (ann, "three")):
        assert sender.send("POST", f"/api/users/{bob.id}/messages", json={"body": body}).status_code == 201
    first = bob.get("/api/messages", per_page=2)
    assert [m["body"] for m in first.json()["items"]] == ["three", "two"]
    assert first.json()["_meta"]["total_items"] == 3
    assert first.headers["X-Consistency-Token"] == f"messaging.messages:inbox-{bob.id}:4"
    rest = bob.get("/api/messages", per_page=2, after=first.json()["_meta"]["next_after"])
    assert [m["body"] for m in rest.json()["items"]] == ["one"]
    assert all(m["read_at"] for m in bob.get("/api/messages", per_page=100).json()["items"])


def test_bad_messages_are_4xx_json(client, person):
    ann, bob = person("ann"), person("bob")
    cases = [
        (f"/api/users/{bob.id}/messages", {"body": "   "}, ann.headers, 400),
        (f"/api/users/{bob.id}/messages", {"body": "x" * 141}, ann.headers, 400),
        (f"/api/users/{ann.id}/messages", {"body": "note to self"}, ann.headers, 400),
        ("/api/users/999999999/messages", {"body": "hello?"}, ann.headers, 404),
        ("/api/users/0/messages", {"body": "hello?"}, ann.headers, 400),
        (f"/api/users/{bob.id}/messages", {"body": "hello?"}, {}, 401),
    ]
    for path, body, headers, status in cases:
        answer = client.post(path, json=body, headers=headers)
        assert answer.status_code == status, (path, body, answer.text)
        assert answer.json()["error"]
    assert client.get("/api/messages").status_code == 401
    assert client.get("/api/messages", params={"after": uuid.uuid4().hex}, headers=ann.headers).status_code == 400
