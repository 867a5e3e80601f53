"""Password resets through the gateway: no account enumeration, bad tokens refused.

(The mail with the link is sent by the notifier; the whole flow from the mail is tested with it.)
"""

import uuid


def test_a_reset_request_answers_the_same_for_known_and_unknown_addresses(client, person):
    susan = person("susan")
    known = client.post("/api/reset_password_request", json={"email": f"{susan.username}@example.com"})
    unknown = client.post("/api/reset_password_request", json={"email": f"{uuid.uuid4().hex}@example.com"})
    assert (known.status_code, unknown.status_code) == (202, 202)
    assert known.content == unknown.content


def test_a_bad_reset_token_is_a_400_and_bad_bodies_too(client):
    answer = client.post("/api/reset_password", json={"token": "not.a.token", "password": "a long password"})
    assert (answer.status_code, answer.json()["message"]) == (400, "the reset link is invalid, used or expired")
    assert client.post("/api/reset_password", json={"token": "x"}).status_code == 400
    assert client.post("/api/reset_password_request", json={}).status_code == 400
