"""A retried POST never doubles: with the same Idempotency-Key each write happens once (read side and mail)."""

import time
import uuid


def keyed(who, key: str) -> dict:
    return {**who.headers, "Idempotency-Key": key}


def test_a_retried_post_is_written_once(client, person):
    ann = person("ann")
    answers = [client.post("/api/posts", json={"body": "once"}, headers=keyed(ann, "p-1")) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert len({a.json()["id"] for a in answers}) == 1
    ann.consistency = answers[0].headers["X-Consistency-Token"]
    assert [p["body"] for p in ann.get(f"/api/users/{ann.id}/posts").json()["items"]] == ["once"]
    other = client.post("/api/posts", json={"body": "twice?"}, headers=keyed(ann, "p-1"))
    assert other.status_code == 422 and other.json()["error"] == "Unprocessable Entity"
    assert client.post("/api/posts", json={"body": "x"}, headers=keyed(ann, "bad\x7fkey")).status_code == 400


def test_a_retried_message_reaches_the_inbox_once(client, person):
    ann, bob = person("ann"), person("bob")
    path = f"/api/users/{bob.id}/messages"
    answers = [client.post(path, json={"body": "hi"}, headers=keyed(ann, "m-1")) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    bob.consistency = answers[1].headers["X-Consistency-Token"]
    assert [m["body"] for m in bob.get("/api/messages").json()["items"]] == ["hi"]
    assert client.post(path, json={"body": "bye"}, headers=keyed(ann, "m-1")).status_code == 422


def test_a_retried_registration_registers_once_and_answers_the_same_user(client):
    name = f"cat{uuid.uuid4().hex[:10]}"
    body = {"username": name, "email": f"{name}@example.com", "password": "a long password"}
    answers = [client.post("/api/users", json=body, headers={"Idempotency-Key": "r-1"}) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201], answers[1].text
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert client.post("/api/tokens", auth=(name, "a long password")).status_code == 200


def test_a_retried_reset_request_sends_one_mail(client, person, mailbox):
    dan = person("dan")
    address = f"{dan.username}@example.com"
    for _ in range(2):
        answer = client.post("/api/reset_password_request", json={"email": address}, headers={"Idempotency-Key": "x"})
        assert answer.status_code == 202
    mailbox.wait_for(address, "[Microblog] Reset Your Password")
    time.sleep(2)  # long enough for a second mail to arrive, were one sent
    assert [str(m["To"]) for m in mailbox.received()].count(address) == 1


def test_a_retried_export_answers_the_same_task_instead_of_409(client, person):
    eve = person("eve")
    answers = [client.post("/api/exports", headers=keyed(eve, "e-1")) for _ in range(2)]
    assert [a.status_code for a in answers] == [202, 202], answers[1].text
    assert answers[0].json()["id"] == answers[1].json()["id"]


def test_a_retried_follow_follows_once(client, person):
    fay, gus = person("fay"), person("gus")
    for _ in range(2):
        answer = client.post(f"/api/users/{gus.id}/follow", headers=keyed(fay, "f-1"))
        assert answer.status_code == 204
        if "X-Consistency-Token" in answer.headers:
            fay.consistency = answer.headers["X-Consistency-Token"]
    assert [u["id"] for u in fay.get(f"/api/users/{gus.id}/followers").json()["items"]] == [fay.id]
