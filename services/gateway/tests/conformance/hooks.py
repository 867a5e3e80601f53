"""Authentication for the conformance run: the fuzzing user's bearer token on every operation.

The test registers two users and passes them in the environment. DELETE /api/tokens revokes the
token it is sent, so it gets a fresh token of the second user each time; POST /api/tokens gets that
user's HTTP Basic credentials, so that its success answer is checked too.
"""

import base64
import os

import requests
import schemathesis

BASE_URL = os.environ["CONFORMANCE_BASE_URL"]
TOKEN = os.environ["CONFORMANCE_TOKEN"]
SPARE = (os.environ["CONFORMANCE_SPARE_USER"], os.environ["CONFORMANCE_SPARE_PASSWORD"])


@(
    schemathesis.auth(retry_on=[])
    .skip_for(method="DELETE", path="/api/tokens")
    .skip_for(method="POST", path="/api/tokens")
)
class FuzzingUser:
    def get(self, case, context):
        return TOKEN

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.auth(refresh_interval=None, retry_on=[]).apply_to(method="DELETE", path="/api/tokens")
class FreshSession:
    def get(self, case, context):
        answer = requests.post(f"{BASE_URL}/api/tokens", auth=SPARE, timeout=10)
        answer.raise_for_status()
        return answer.json()["token"]

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.auth(refresh_interval=None, retry_on=[]).apply_to(method="POST", path="/api/tokens")
class Credentials:
    def get(self, case, context):
        return SPARE

    def set(self, case, data, context):
        case.headers = {key: value for key, value in (case.headers or {}).items() if key.lower() != "authorization"}
        case.headers["Authorization"] = "Basic " + base64.b64encode(":".join(data).encode()).decode()
