"""The gateway's OpenAPI tells the truth: schemathesis runs every operation of /api/openapi.json
against a started dev stack, with every check, and finds no server error and no mismatch.

The run's settings and its few allowances (each with its reason) are in conformance/schemathesis.toml;
authentication is in conformance/hooks.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from microblog_testkit.devstack import DevStackProcess

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent / "conformance"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, report_session):
    # Every write is fuzzed from one account and one address: the stack's limits are lifted (its default).
    dev = DevStackProcess(tmp_path_factory.mktemp("dev-openapi")).start()
    report_session(f"microblog dev for the OpenAPI conformance run: ready in {dev.start_seconds:.1f} s")
    yield dev.url
    assert dev.stop() == 0, dev.logs()
    assert dev.orphans() == []


def registered(base_url: str, prefix: str) -> tuple[str, str, str]:
    """A new user's (username, password, access token)."""
    username, password = f"{prefix}{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    with httpx.Client(base_url=base_url, timeout=15) as http:
        made = http.post(
            "/api/users", json={"username": username, "email": f"{username}@example.com", "password": password}
        )
        assert made.status_code == 201, made.text
        tokens = http.post("/api/tokens", auth=(username, password))
        assert tokens.status_code == 200, tokens.text
    return username, password, tokens.json()["token"]


def test_every_operation_conforms_to_the_openapi_document(gateway, report):
    _, _, token = registered(gateway, "fuzzer")
    spare, spare_password, _ = registered(gateway, "spare")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--no-color",
            "--config-file",
            str(HERE / "schemathesis.toml"),
            "run",
            f"{gateway}/api/openapi.json",
            "--checks",
            "all",
        ],
        cwd=HERE,
        env={
            **os.environ,
            "CONFORMANCE_BASE_URL": gateway,
            "CONFORMANCE_TOKEN": token,
            "CONFORMANCE_SPARE_USER": spare,
            "CONFORMANCE_SPARE_PASSWORD": spare_password,
        },
        capture_output=True,
        text=True,
        timeout=240,
    )
    summary = run.stdout[run.stdout.rfind("SUMMARY") :]
    report("schemathesis over /api/openapi.json: " + (summary.strip().splitlines() or ["no summary"])[-1].strip("= "))
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
