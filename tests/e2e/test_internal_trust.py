"""The services behind the gateway believe only the caller the gateway names (a signed X-User-Id).

A process that reaches a backend's port directly (the test, here, from the same machine as
`microblog dev`'s processes) can't act as somebody else: the forged requests are refused with a
401 and write nothing, while the same actions through the gateway work. Run once per bus.
"""

import httpx
import pytest

from microblog_ops.stackfile import Stack
from microblog_shared.http.auth import caller_headers, sign_caller

pytestmark = pytest.mark.e2e


def refused(response: httpx.Response) -> bool:
    return response.status_code == 401 and response.json()["error"] == "Unauthorized"


def test_a_forged_caller_on_a_backend_port_is_refused_while_the_gateway_path_works(stack, person):
    alice, mallory = person("alice"), person("mallory")
    through_gateway = alice.post("posted through the gateway")
    assert through_gateway.status_code == 201, through_gateway.text
    assert mallory.send("POST", f"/api/users/{alice.id}/messages", json={"body": "hello"}).status_code == 201

    if stack.stack_file is None:  # a stack at MICROBLOG_E2E_URL: its backend ports can't be reached from here
        return
    processes = Stack.read(stack.stack_file)
    posts, messaging = processes.process("posts-api"), processes.process("messaging-api")
    timeline = processes.process("timeline-api")
    as_alice = {"X-User-Id": str(alice.id)}
    guessed = {**as_alice, "X-Caller-Signature": sign_caller(alice.id, None, "a guessed secret of some length")}
    with httpx.Client(timeout=15) as direct:
        for headers in (as_alice, guessed):
            assert refused(direct.post(f"{posts.url}/posts", json={"body": "forged"}, headers=headers))
            assert refused(direct.get(f"{messaging.url}/messages", headers=headers))  # her inbox
            assert refused(direct.get(f"{timeline.url}/timeline", headers=headers))  # her home timeline
        post_id = through_gateway.json()["id"]
        assert refused(direct.delete(f"{posts.url}/posts/{post_id}", headers=as_alice))

        # The same port believes the caller the gateway's secret signs: the refusal is about the signature.
        secret = posts.env["MICROBLOG_INTERNAL_SECRET"]
        signed = direct.get(f"{timeline.url}/timeline", headers=caller_headers(alice.id, None, secret))
        assert signed.status_code == 200, signed.text

    posts_of_alice = alice.get(f"/api/users/{alice.id}/posts")
    assert [p["body"] for p in posts_of_alice.json()["items"]] == ["posted through the gateway"]
    inbox = alice.get("/api/messages")
    assert inbox.status_code == 200 and [m["body"] for m in inbox.json()["items"]] == ["hello"]
