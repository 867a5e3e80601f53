"""An email change on the running stack (both buses): the password, the link mailed to the new address,
the notice to the old one; after confirming, resets go to the new address and never to the old."""

import re
import time

from microblog_dev.mailsink import bodies

CONFIRM = "[Microblog] Confirm Your New Email Address"
NOTICE = "[Microblog] Your Email Address Is Being Changed"
RESET = "[Microblog] Reset Your Password"


def test_a_stolen_token_alone_cannot_move_the_account_to_another_address(person):
    susan = person("susan")
    thief = susan.send("PUT", f"/api/users/{susan.id}", json={"email": f"thief-{susan.username}@example.com"})
    assert (thief.status_code, thief.json()["message"]) == (
        400,
        "current_password is required to change the email address",
    )
    guess = susan.send(
        "PUT",
        f"/api/users/{susan.id}",
        json={"email": f"thief-{susan.username}@example.com", "current_password": "a guess"},
    )
    assert (guess.status_code, guess.json()["message"]) == (400, "current password is wrong")
    assert susan.get("/api/me").json()["email"] == f"{susan.username}@example.com"


def test_the_new_address_is_confirmed_by_the_mailed_link_and_then_takes_resets(client, person, mailbox):
    susan = person("susan")
    old, new = f"{susan.username}@example.com", f"new-{susan.username}@example.com"
    asked = susan.send("PUT", f"/api/users/{susan.id}", json={"email": new, "current_password": susan.password})
    assert asked.status_code == 202, asked.text
    assert (asked.json()["email"], asked.json()["pending_email"]) == (old, new)
    assert susan.get("/api/me").json()["email"] == old  # pending: nothing changed yet

    text, html = bodies(mailbox.wait_for(new, CONFIRM))
    token = re.search(r"/confirm_email/([A-Za-z0-9._-]+)", text)[1]
    assert f"/confirm_email/{token}" in html
    notice, _ = bodies(mailbox.wait_for(old, NOTICE))
    assert new in notice and token not in notice

    done = client.post("/api/email_confirmation", json={"token": token})
    assert done.status_code == 204, done.text
    susan.consistency = done.headers["X-Consistency-Token"]
    assert susan.get("/api/me").json()["email"] == new
    reused = client.post("/api/email_confirmation", json={"token": token})
    assert (reused.status_code, reused.json()["message"]) == (
        400,
        "the email confirmation link is invalid, used or expired",
    )

    # The old address no longer resets the password; the new one does.
    assert client.post("/api/reset_password_request", json={"email": old}).status_code == 202
    assert client.post("/api/reset_password_request", json={"email": new}).status_code == 202
    reset_text, _ = bodies(mailbox.wait_for(new, RESET))
    time.sleep(0.5)  # a mail to the old address would have been queued before the new one's
    assert not [m for m in mailbox.received() if old == str(m["To"]) and m["Subject"] == RESET]
    reset_token = re.search(r"/auth/reset_password/([A-Za-z0-9._-]+)", reset_text)[1]
    reset = client.post("/api/reset_password", json={"token": reset_token, "password": "a newer long password"})
    assert reset.status_code == 204
    assert client.post("/api/tokens", auth=(susan.username, "a newer long password")).status_code == 200
    assert client.post("/api/tokens", auth=(susan.username, susan.password)).status_code == 401


def test_an_address_taken_while_the_link_waited_is_refused_at_confirmation(client, person, mailbox):
    susan, bob = person("susan"), person("bob")
    wanted = f"wanted-{susan.username}@example.com"
    asked = susan.send("PUT", f"/api/users/{susan.id}", json={"email": wanted, "current_password": susan.password})
    assert asked.status_code == 202
    text, _ = bodies(mailbox.wait_for(wanted, CONFIRM))
    token = re.search(r"/confirm_email/([A-Za-z0-9._-]+)", text)[1]
    taken = bob.send("PUT", f"/api/users/{bob.id}", json={"email": wanted, "current_password": bob.password})
    assert taken.status_code == 202
    bob_text, _ = bodies(_newest(mailbox, wanted, token))
    bob_token = re.search(r"/confirm_email/([A-Za-z0-9._-]+)", bob_text)[1]
    assert client.post("/api/email_confirmation", json={"token": bob_token}).status_code == 204
    late = client.post("/api/email_confirmation", json={"token": token})
    assert (late.status_code, late.json()["message"]) == (400, "please use a different email address")
    assert susan.get("/api/me").json()["email"] == f"{susan.username}@example.com"


def _newest(mailbox, to: str, other_than: str, timeout: float = 20.0):
    """The confirmation mail to `to` whose link is not `other_than`, once it has arrived."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in mailbox.received():
            if to in str(message["To"]) and message["Subject"] == CONFIRM and other_than not in bodies(message)[0]:
                return message
        time.sleep(0.1)
    raise AssertionError(f"no second confirmation mail to {to} within {timeout} s")
