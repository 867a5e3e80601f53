"""The gateway's Prometheus metrics: never on its public port, only on `metrics_port` (a real process)."""

import os
import subprocess
import time

import httpx
import pytest

from gateway.app import create_app
from microblog_dev.embedded_postgres import free_port
from microblog_dev.orphans import die_with_parent
from microblog_dev.supervisor import python_module


async def test_the_public_app_serves_no_metrics(gateway_settings, service_client):
    gateway = await service_client(create_app(gateway_settings()))
    response = await gateway.get("/metrics")
    assert response.status_code == 404
    assert response.json()["error"] == "Not Found"
    assert (await gateway.get("/healthz")).status_code == 200


@pytest.fixture
def gateway_process(fresh_database, tmp_path):
    """`python -m gateway api` with MICROBLOG_METRICS_PORT set: (public URL, metrics URL)."""
    port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "MICROBLOG_ENVIRONMENT": "test",
        "MICROBLOG_BUS_DATABASE_URL": fresh_database("bus"),
        "MICROBLOG_METRICS_PORT": str(metrics_port),
    }
    with open(tmp_path / "gateway.log", "ab") as log:
        process = subprocess.Popen(
            python_module("gateway", "api", port),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    try:
        public = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "gateway.log").read_text()[-3000:]
            try:
                if httpx.get(f"{public}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the gateway did not answer in time"
                time.sleep(0.1)
        yield public, f"http://127.0.0.1:{metrics_port}"
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_metrics_are_served_on_the_metrics_port_only(gateway_process):
    public, metrics = gateway_process
    assert httpx.get(f"{public}/api/users/1").status_code == 401  # one request for the histogram
    assert httpx.get(f"{public}/metrics").status_code == 404
    scraped = httpx.get(f"{metrics}/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    counted = [line for line in scraped.text.splitlines() if line.startswith("microblog_http_request_seconds_count")]
    assert any('service="gateway"' in line and 'status="401"' in line for line in counted), counted
