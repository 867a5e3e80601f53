"""The dev overlay runs on the local cluster: the compose stage's images loaded, every migration
Job complete, every process Ready, and the e2e suite (tests/e2e) passes against the gateway and
the web UI through `kubectl port-forward` on 127.0.0.1.

deploy/k8s/overlays/local is the dev overlay with the compose CI's infrastructure images, no
storage provisioner and two cores' worth of requests. The images must be in the Docker engine
(deploy/ci/compose_stage.sh builds them; deploy/ci/kubernetes_stage.sh runs this module).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.timeout(3600)

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "microblog-dev"
OVERLAY = ROOT / "deploy" / "k8s" / "overlays" / "local"
FORWARDS = {"gateway-api": (18000, 80), "web-api": (15000, 80), "mailpit": (18025, 8025)}


def diagnosis(kubernetes) -> str:
    """The pods, the latest events, and the logs of every pod that is not Ready."""
    pods = json.loads(kubernetes.kubectl("-n", NAMESPACE, "get", "pods", "-o", "json", check=False) or '{"items":[]}')
    lines = [kubernetes.kubectl("-n", NAMESPACE, "get", "pods", "-o", "wide", check=False)]
    events = kubernetes.kubectl("-n", NAMESPACE, "get", "events", "--sort-by=.lastTimestamp", check=False)
    lines.append("\n".join(events.splitlines()[-40:]))
    for pod in pods["items"]:
        ready = [c["status"] for c in pod["status"].get("conditions", []) if c["type"] == "Ready"]
        if ready != ["True"] and pod["status"].get("phase") != "Succeeded":
            name = pod["metadata"]["name"]
            logs = kubernetes.kubectl("-n", NAMESPACE, "logs", name, "--all-containers", "--tail=30", check=False)
            lines.append(f"--- {name}\n{logs}")
    return "\n".join(lines)


def memory(kubernetes) -> str:
    """The node's memory as metrics-server sees it, the namespace's pods summed, and the host's `free`."""
    node = kubernetes.kubectl("top", "node", "--no-headers", check=False).split()
    pods = kubernetes.kubectl("-n", NAMESPACE, "top", "pod", "--no-headers", check=False).splitlines()
    summed = sum(int(line.split()[2].removesuffix("Mi")) for line in pods if line.split()[2].endswith("Mi"))
    used = subprocess.run(["free", "-m"], capture_output=True, text=True).stdout.splitlines()[1].split()[2]
    node_memory = f"{node[3]} ({node[4]})" if len(node) >= 5 else "unknown"
    return f"node {node_memory}, {len(pods)} pods of {NAMESPACE} {summed} Mi, host used {used} Mi"


@pytest.fixture(scope="module")
def dev_overlay(kubernetes, compose_images, report_session):
    """The local overlay applied to the session's cluster, every pod Ready (or the test fails)."""
    started = time.monotonic()
    kubernetes.load(*compose_images)
    report_session(f"kubernetes: {len(compose_images)} images loaded in {time.monotonic() - started:.1f} s")

    started = time.monotonic()
    kubernetes.kubectl("apply", "-k", str(OVERLAY))
    try:
        kubernetes.kubectl("-n", NAMESPACE, "wait", "--for=condition=Complete", "job", "--all", "--timeout=600s",
                           timeout=660)  # fmt: skip
        for workload in kubernetes.kubectl("-n", NAMESPACE, "get", "deployments,statefulsets", "-o", "name").split():
            kubernetes.kubectl("-n", NAMESPACE, "rollout", "status", workload, "--timeout=600s", timeout=660)
    except (AssertionError, subprocess.TimeoutExpired) as failure:
        raise AssertionError(f"{failure}\n{diagnosis(kubernetes)}") from None
    report_session(f"kubernetes: dev overlay applied, every pod Ready in {time.monotonic() - started:.1f} s")
    report_session(f"kubernetes: memory after apply: {memory(kubernetes)}")
    yield kubernetes
    report_session(f"kubernetes: memory at the end: {memory(kubernetes)}")


@pytest.fixture(scope="module")
def forwarded(dev_overlay) -> Iterator[dict[str, str]]:
    """`kubectl port-forward` to the gateway, the web UI and Mailpit: service -> http://127.0.0.1:port."""
    processes, urls = [], {}
    try:
        for service, (local, remote) in FORWARDS.items():
            processes.append(
                subprocess.Popen(
                    [dev_overlay.kubectl_path, f"--kubeconfig={dev_overlay.kubeconfig}", "-n", NAMESPACE,
                     "port-forward", "--address", "127.0.0.1", f"svc/{service}", f"{local}:{remote}"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                )
            )  # fmt: skip
            urls[service] = f"http://127.0.0.1:{local}"
            wait_for_ready(urls[service], processes[-1])
        yield urls
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def wait_for_ready(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"port-forward to {url} exited: {process.stderr.read() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url}/readyz did not answer 200 through port-forward within {timeout:.0f} s")


def test_every_migration_job_completes_and_every_process_is_ready(dev_overlay):
    pods = json.loads(dev_overlay.kubectl("-n", NAMESPACE, "get", "pods", "-o", "json"))["items"]
    jobs = {
        p["metadata"]["labels"]["job-name"]: p["status"]["phase"] for p in pods if "job-name" in p["metadata"]["labels"]
    }
    migrations = {"identity", "posts", "social-graph", "messaging", "notifier", "timeline", "search-indexer"}
    assert {f"{s}-migrate" for s in migrations} <= set(jobs) and set(jobs.values()) == {"Succeeded"}, jobs
    running = [p for p in pods if "job-name" not in p["metadata"]["labels"]]
    not_ready = [
        p["metadata"]["name"]
        for p in running
        if [c["status"] for c in p["status"]["conditions"] if c["type"] == "Ready"] != ["True"]
    ]
    assert not not_ready, diagnosis(dev_overlay)
    # One pod at least of every process: the APIs, relays, projectors, the mailer, the exporter,
    # the gateway and the web UI, and the infrastructure.
    components = {(p["metadata"]["labels"].get("app.kubernetes.io/name"), p["metadata"]["labels"].get(
        "app.kubernetes.io/component")) for p in running}  # fmt: skip
    for wanted in [("gateway", "api"), ("web", "api"), ("timeline", "projector"), ("posts", "relay"),
                   ("notifier", "mailer"), ("kafka", "event-log"), ("postgres", "database"),
                   ("elasticsearch", "search"), ("mailpit", "mail")]:  # fmt: skip
        assert wanted in components, sorted(components)


def test_the_e2e_suite_passes_through_port_forward(dev_overlay, forwarded, report_session):
    env = {
        **os.environ,
        "MICROBLOG_E2E_URL": forwarded["gateway-api"],
        "MICROBLOG_E2E_WEB_URL": forwarded["web-api"],
        "MICROBLOG_MAILPIT_URL": forwarded["mailpit"],
    }
    started = time.monotonic()
    suite = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/e2e", "-q", "-p", "no:cacheprovider",
         "--basetemp", str(Path(os.environ.get("TMPDIR", "/tmp")) / "kubernetes-e2e")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=3000,
    )  # fmt: skip
    summary = suite.stdout.strip().splitlines()[-1] if suite.stdout.strip() else ""
    report_session(f"kubernetes: e2e suite through port-forward in {time.monotonic() - started:.1f} s: {summary}")
    assert suite.returncode == 0, suite.stdout[-8000:] + suite.stderr[-2000:] + diagnosis(dev_overlay)


def test_a_projector_pod_deleted_mid_load_comes_back_and_catches_up(dev_overlay, forwarded, report_session):
    """Posts keep coming while the timeline projector's pod is deleted: its Deployment starts
    another, which resumes from the committed offsets; the user's timeline then lists every post
    once (nothing lost, nothing doubled)."""
    selector = "app.kubernetes.io/name=timeline,app.kubernetes.io/component=projector"
    pods = dev_overlay.kubectl("-n", NAMESPACE, "get", "pods", "-l", selector, "-o", "name").split()
    with httpx.Client(base_url=forwarded["gateway-api"], timeout=30) as client:
        name = f"ops{uuid.uuid4().hex[:10]}"
        created = client.post(
            "/api/users", json={"username": name, "email": f"{name}@example.com", "password": "x" * 16}
        )
        assert created.status_code == 201, created.text
        token = client.post("/api/tokens", auth=(name, "x" * 16)).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        bodies = [f"post {n} of {name}" for n in range(60)]
        for n, body in enumerate(bodies):
            if n == 20:  # mid-load: the pod goes, the writes go on
                dev_overlay.kubectl("-n", NAMESPACE, "delete", *pods, "--wait=false")
                deleted = time.monotonic()
            answer = client.post("/api/posts", json={"body": body}, headers=auth)
            assert answer.status_code == 201, answer.text
        dev_overlay.kubectl("-n", NAMESPACE, "rollout", "status", "deployment/timeline-projector", "--timeout=300s",
                            timeout=330)  # fmt: skip
        replaced = dev_overlay.kubectl("-n", NAMESPACE, "get", "pods", "-l", selector, "-o", "name").split()
        assert replaced and not set(replaced) & set(pods), (pods, replaced)

        deadline, listed = time.monotonic() + 300, []
        while time.monotonic() < deadline:
            page = client.get(f"/api/users/{created.json()['id']}/posts", params={"per_page": 100}, headers=auth)
            listed = [item["body"] for item in page.json()["items"]] if page.status_code == 200 else []
            if len(listed) >= len(bodies):
                break
            time.sleep(1)
    caught_up = time.monotonic() - deleted
    report_session(
        f"kubernetes: timeline projector pod deleted after 20 of {len(bodies)} posts; a new pod caught up, "
        f"{len(listed)} listed, {caught_up:.1f} s after the deletion"
    )
    assert sorted(listed) == sorted(bodies), (len(listed), len(set(listed)))
