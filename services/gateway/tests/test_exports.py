"""POST /api/exports and GET /api/tasks/{id}: validated here, then forwarded to the posts service."""

import json
import uuid

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from gateway.app import backends_from, create_app
from gateway.backends import Backend, Upstream
from microblog_shared.http.auth import issue_access_token

SECRET = "e" * 40
AUTH = {"Authorization": f"Bearer {issue_access_token(7, 's7', SECRET, 60)}"}
TASK = {
    "id": str(uuid.uuid4()),
    "name": "export_posts",
    "description": "Exporting posts...",
    "progress": 0,
    "complete": False,
}


class AnsweringPosts(Backend):
    """The posts backend answering with `answers[0]`; `calls` records what the gateway asked."""

    def __init__(self) -> None:
        super().__init__("posts", "http://posts", 1.0, 1.0, secret="i" * 40)
        self.calls, self.answers = [], []

    async def call(self, method, path, request=None, caller=None, **kwargs):
        self.calls.append(
            {
                "method": method,
                "path": path,
                "user": caller.user_id if caller else None,
                "token": request.headers.get("X-Consistency-Token") if request else None,
            }
        )
        status, body, headers = self.answers[0]
        return Upstream(
            status, CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json", **headers})), body.encode()
        )


@pytest.fixture
def posts() -> AnsweringPosts:
    return AnsweringPosts()


@pytest.fixture
async def gateway(gateway_settings, service_client, posts):
    settings = gateway_settings(jwt_secret=SECRET)
    backends = backends_from(settings)
    backends.posts = posts
    app = create_app(settings, backends=backends)
    client = await service_client(app)
    client.app = app
    return client


@pytest.fixture
def posts_answers(posts):
    """What the posts backend was asked (`calls`) and answers (`answers[0]`)."""
    return posts.calls, posts.answers


async def test_an_export_request_is_forwarded_as_the_caller_and_answers_202_with_its_token(gateway, posts_answers):
    calls, answers = posts_answers
    token = f"posts.exports:export-{TASK['id']}:1"
    answers.append((202, json.dumps(TASK), {"X-Consistency-Token": token}))
    response = await gateway.post("/api/exports", headers=AUTH)
    assert response.status_code == 202 and response.json() == TASK
    assert response.headers["X-Consistency-Token"] == token
    assert calls == [{"method": "POST", "path": "/exports", "user": 7, "token": None}]


async def test_a_task_read_passes_the_consistency_token_on(gateway, posts_answers):
    calls, answers = posts_answers
    answers.append((404, '{"error": "Not Found", "message": "export not found"}', {}))
    response = await gateway.get(
        f"/api/tasks/{TASK['id']}", headers={**AUTH, "X-Consistency-Token": "posts.exports:x:1"}
    )
    assert response.status_code == 404 and response.json()["message"] == "export not found"
    assert calls == [{"method": "GET", "path": f"/tasks/{TASK['id']}", "user": 7, "token": "posts.exports:x:1"}]


@pytest.mark.parametrize("task_id", ["abc", "12", "0b5b6c0e-8d4e", "%00", "x" * 500])
async def test_malformed_task_ids_are_400_before_posts_is_asked(gateway, posts_answers, task_id):
    calls, _ = posts_answers
    response = await gateway.get(f"/api/tasks/{task_id}", headers=AUTH)
    assert response.status_code == 400 and response.json()["error"] == "Bad Request"
    assert calls == []


async def test_tasks_and_exports_need_a_token(gateway, posts_answers):
    calls, _ = posts_answers
    assert (await gateway.post("/api/exports")).status_code == 401
    assert (await gateway.get(f"/api/tasks/{TASK['id']}")).status_code == 401
    assert calls == []


async def test_the_openapi_document_shows_the_task_routes(gateway):
    spec = (await gateway.get("/api/openapi.json")).json()
    assert (
        set(spec["paths"]["/api/exports"]) == {"post"} and "202" in spec["paths"]["/api/exports"]["post"]["responses"]
    )
    assert "404" in spec["paths"]["/api/tasks/{task_id}"]["get"]["responses"]
    assert set(spec["components"]["schemas"]["Task"]["properties"]) == {
        "id",
        "name",
        "description",
        "progress",
        "complete",
    }
