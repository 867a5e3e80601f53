"""A write's answer is what a read of it shows once the projections settle, field by field.

The gateway builds write answers from the write side (gateway.answers); these compare each with
the timeline's (or messaging's) GET of the same resource, read with the write's token.
"""

import uuid

import httpx


def settled(person, path: str, projected: bool = True) -> dict:
    """The resource as the read side shows it once it has the person's last write (`projected`: read
    from a projection, which says it waited; messaging reads its own table, with no wait to report)."""
    response = person.get(path)
    assert response.status_code == 200, response.text
    if projected:
        assert response.headers["X-Consistency-Reached"] == "true"
    return response.json()


def assert_answered_from_the_write(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert "X-Consistency-Reached" not in response.headers
    assert response.headers["X-Consistency-Token"]


def test_a_new_post_is_answered_as_it_reads(person):
    susan = person("susan")
    written = susan.post("  hola a todos, ¿qué tal?  ")
    assert_answered_from_the_write(written, 201)
    assert written.headers["Location"] == f"/api/posts/{written.json()['id']}"
    assert set(written.json()) == {"id", "body", "language", "timestamp", "edited_at", "author", "_links"}
    assert written.json() == settled(susan, f"/api/posts/{written.json()['id']}")


def test_an_edited_post_is_answered_as_it_reads(person):
    susan = person("susan")
    post_id = susan.post("first words").json()["id"]
    edited = susan.send("PUT", f"/api/posts/{post_id}", json={"body": "second words"})
    assert_answered_from_the_write(edited, 200)
    assert edited.json()["edited_at"] and edited.json()["body"] == "second words"
    assert edited.json() == settled(susan, f"/api/posts/{post_id}")


def test_a_registration_is_answered_as_the_user_reads_without_a_viewer(client, person):
    name = f"reg{uuid.uuid4().hex[:10]}"
    account = {"username": name, "email": f"{name}@example.com", "password": "a long password"}
    registered = client.post("/api/users", json=account)
    assert_answered_from_the_write(registered, 201)
    user = registered.json()
    assert registered.headers["Location"] == f"/api/users/{user['id']}"
    # Nobody is signed in when registering: the answer is the user as a read shows them without a
    # viewer (no email, no is_following). Compare with another user's read, less their is_following.
    other = person("other")
    other.consistency = registered.headers["X-Consistency-Token"]
    read = settled(other, f"/api/users/{user['id']}")
    assert read.pop("is_following") is False
    assert user == read
    assert (user["post_count"], user["follower_count"], user["followed_count"]) == (0, 0, 0)


def test_a_profile_change_is_answered_as_it_reads_with_the_counts(person):
    susan, john = person("susan"), person("john")
    susan.post("one")
    susan.post("two")
    assert john.send("POST", f"/api/users/{susan.id}/follow").status_code == 204
    assert susan.send("POST", f"/api/users/{john.id}/follow").status_code == 204
    changed = susan.send("PUT", f"/api/users/{susan.id}", json={"about_me": "likes tea"})
    assert_answered_from_the_write(changed, 200)
    susan.waits_for(john)  # her read carries the tokens of her four writes' streams and of john's follow
    assert len(susan.consistency.split(",")) == 6
    assert changed.json() == settled(susan, f"/api/users/{susan.id}")
    assert changed.json()["about_me"] == "likes tea" and changed.json()["email"] == f"{susan.username}@example.com"
    assert (changed.json()["post_count"], changed.json()["follower_count"], changed.json()["followed_count"]) == (
        2,
        1,
        1,
    )


def test_an_email_change_waiting_for_its_link_is_answered_as_it_reads_plus_the_pending_address(person):
    susan = person("susan")
    body = {"email": f"new-{susan.username}@example.com", "current_password": susan.password}
    changed = susan.send("PUT", f"/api/users/{susan.id}", json=body)
    assert_answered_from_the_write(changed, 202)
    answer = changed.json()
    assert answer.pop("pending_email") == body["email"]
    assert answer == settled(susan, f"/api/users/{susan.id}")


def test_a_message_is_answered_as_its_recipient_reads_it(person):
    susan, john = person("susan"), person("john")
    sent = susan.send("POST", f"/api/users/{john.id}/messages", json={"body": "lunch?"})
    assert_answered_from_the_write(sent, 201)
    john.consistency = sent.headers["X-Consistency-Token"]
    (read,) = settled(john, "/api/messages", projected=False)["items"]
    # The same fields, and the parties' usernames too: the inbox names the parties by id and link only.
    answer = sent.json()
    assert (answer["sender"].pop("username"), answer["recipient"].pop("username")) == (susan.username, john.username)
    assert answer == read
