"""A real single-node Kubernetes cluster for the session, run by `deploy/local/kubernetes`.

The launcher builds the binaries from their Go modules once (cached in
~/.cache/microblog/kubernetes-<version>), starts containerd, etcd, the control plane, the kubelet,
kube-proxy, CoreDNS and metrics-server, and at the end removes every trace of them. Without the
parts (root, Debian's containerd or apt-get, the cached binaries or a Go toolchain to build them)
the tests skip with the reason, unless MICROBLOG_REQUIRE_KUBERNETES=1 makes that a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path.home() / ".cache" / "microblog"
DEBIAN_BASE = CACHE / "debian-bookworm-minbase.tar"


def launcher(*args: str, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy.local.kubernetes", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def missing_parts() -> str | None:
    """Why a local cluster cannot run here (a sentence), or None when it can."""
    if os.geteuid() != 0:
        return "the cluster needs root (containerd, iptables, mounts)"
    if shutil.which("containerd") is None and shutil.which("apt-get") is None:
        return "neither Debian's containerd nor apt-get to install it"
    status = launcher("status", timeout=60)
    if "cache" in status.stdout and "complete" not in status.stdout.splitlines()[-1]:
        go = shutil.which("go") or "/usr/local/go/bin/go"
        if not Path(go).exists():
            return "the Kubernetes binaries are not built and no Go toolchain is there to build them"
    return None


def require_or_skip(reason: str) -> None:
    if os.environ.get("MICROBLOG_REQUIRE_KUBERNETES") == "1":
        pytest.fail(f"Kubernetes is required (MICROBLOG_REQUIRE_KUBERNETES=1) but {reason}")
    pytest.skip(f"a local Kubernetes cluster is unavailable: {reason}")


@dataclass
class Cluster:
    kubeconfig: str
    kubectl_path: str
    up_seconds: float

    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120) -> str:
        result = subprocess.run(
            [self.kubectl_path, f"--kubeconfig={self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def import_archive(self, archive: Path) -> None:
        result = launcher("import", str(archive), timeout=600)
        assert result.returncode == 0, result.stderr

    def load(self, *images: str) -> None:
        """Images of the Docker engine into the cluster (IMAGE or IMAGE=NAME-IN-THE-CLUSTER)."""
        result = launcher("load", *images, timeout=1800)
        assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="session")
def kubernetes(report_session) -> Iterator[Cluster]:
    """The running cluster; torn down at the end of the session, which must leave nothing behind."""
    reason = missing_parts()
    if reason:
        require_or_skip(reason)
    started = time.monotonic()
    result = launcher("up")
    if result.returncode != 0:
        pytest.fail(f"the cluster did not come up:\n{result.stderr[-5000:]}")
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    cluster = Cluster(values["KUBECONFIG"], values["KUBECTL"], time.monotonic() - started)
    report_session(f"kubernetes: cluster up in {cluster.up_seconds:.1f} s")
    try:
        yield cluster
    finally:
        teardown_started = time.monotonic()
        down = launcher("down", timeout=600)
        report_session(f"kubernetes: teardown in {time.monotonic() - teardown_started:.1f} s")
        assert down.returncode == 0, f"the teardown left something behind:\n{down.stderr[-3000:]}"
        status = launcher("status", timeout=60)
        assert "left on the host: nothing" in status.stdout, status.stdout
        assert "not running" in status.stdout and "pid " not in status.stdout, status.stdout


@pytest.fixture(scope="session")
def debian_base() -> Path:
    """The debootstrap minbase root filesystem the compose stage makes (deploy/ci/compose_stage.sh)."""
    if not DEBIAN_BASE.exists():
        require_or_skip(f"{DEBIAN_BASE} is missing (the compose stage makes it with debootstrap)")
    return DEBIAN_BASE


# What the compose stage builds (docker-compose.yml, deploy/compose/ci.yml): the platform's
# images as the dev overlay names them, and the CI's infrastructure images, which
# deploy/k8s/overlays/local names.
PLATFORM_IMAGES = [
    "identity", "posts", "social-graph", "messaging", "notifier", "timeline", "search-indexer", "gateway", "web",
]  # fmt: skip
INFRASTRUCTURE_IMAGES = [
    "microblog-ci/postgres:15",
    "microblog-ci/kafka:4.1.1",
    "microblog-ci/elasticsearch:9.5.3",
    "microblog-ci/mailpit:v1.27.11",
]


@pytest.fixture(scope="session")
def compose_images() -> list[str]:
    """`load` arguments for the compose stage's images (skips when the Docker engine lacks them)."""
    wanted = [f"microblog/{name}" for name in PLATFORM_IMAGES] + INFRASTRUCTURE_IMAGES
    try:
        absent = [
            i for i in wanted if subprocess.run(["docker", "image", "inspect", i], capture_output=True).returncode
        ]
    except FileNotFoundError:
        absent = wanted
    if absent:
        require_or_skip(f"the Docker engine lacks {', '.join(absent)} (deploy/ci/compose_stage.sh builds them)")
    return [f"microblog/{name}=microblog/{name}:dev" for name in PLATFORM_IMAGES] + INFRASTRUCTURE_IMAGES
