"""Mail from the running stack: the whole password reset by mail, and notifications."""

import re
import time

from microblog_dev.mailsink import bodies


def test_a_password_is_reset_through_the_link_in_the_mail(client, person, mailbox):
    susan = person("susan")
    address = f"{susan.username}@example.com"
    assert client.post("/api/reset_password_request", json={"email": address}).status_code == 202
    mail = mailbox.wait_for(address, "[Microblog] Reset Your Password")
    text, html = bodies(mail)
    token = re.search(r"/auth/reset_password/([A-Za-z0-9._-]+)", text)[1]
    assert f"/auth/reset_password/{token}" in html

    assert (
        client.post("/api/reset_password", json={"token": token, "password": "a new long password"}).status_code == 204
    )
    assert client.post("/api/tokens", auth=(susan.username, "a new long password")).status_code == 200
    assert client.post("/api/tokens", auth=(susan.username, susan.password)).status_code == 401
    reused = client.post("/api/reset_password", json={"token": token, "password": "yet another password"})
    assert reused.status_code == 400


def test_a_message_raises_the_unread_badge_and_reading_the_inbox_clears_it(person):
    susan, john = person("susan"), person("john")
    since = time.time() - 60
    sent = john.send("POST", f"/api/users/{susan.id}/messages", json={"body": "hello susan"})
    assert sent.status_code == 201
    susan.consistency = sent.headers["X-Consistency-Token"]  # the message is on susan's inbox stream
    (badge,) = [n for n in susan.get("/api/notifications", since=since).json() if n["name"] == "unread_message_count"]
    assert badge["data"] == 1

    inbox = susan.get("/api/messages")
    assert inbox.status_code == 200
    susan.consistency = inbox.headers["X-Consistency-Token"]  # reading marked it read
    newer = susan.get("/api/notifications", since=badge["timestamp"]).json()
    assert [(n["name"], n["data"]) for n in newer] == [("unread_message_count", 0)]
    assert susan.get("/api/notifications", since=newer[0]["timestamp"]).json() == []
    assert susan.get("/api/notifications", since="nan").status_code == 400


def test_an_export_mails_the_posts_as_an_attached_json_file(person, mailbox, report):
    import json

    from microblog_dev.mailsink import attachments

    author = person("mailed")
    for body in ("first exported post", "second exported post"):
        assert author.post(body).status_code == 201
    started = time.perf_counter()
    answer = author.send("POST", "/api/exports")
    assert answer.status_code == 202, answer.text
    mail = mailbox.wait_for(f"{author.username}@example.com", "[Microblog] Your blog posts", timeout=30)
    report(f"e2e: export requested -> mail with posts.json received in {time.perf_counter() - started:.2f} s")
    ((name, kind, content),) = attachments(mail)
    assert (name, kind) == ("posts.json", "application/json")
    assert sorted(p["body"] for p in json.loads(content)["posts"]) == ["first exported post", "second exported post"]
    assert all("2 posts" in text for text in bodies(mail))  # the text and its HTML alternative
    progress = [n for n in author.get("/api/notifications").json() if n["name"] == "task_progress"]
    assert progress[0]["data"] == {"task_id": answer.json()["id"], "progress": 100}
