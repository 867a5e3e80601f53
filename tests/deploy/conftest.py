"""Renders deploy/k8s with the real kustomize binary, built once from its Go module and cached."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUSTOMIZE_MODULE = "sigs.k8s.io/kustomize/kustomize/v5"
KUSTOMIZE_VERSION = "v5.8.1"  # builds with Go >= 1.24 (v5.8.3 wants Go 1.27)
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "microblog"
PRODUCTION_SECRETS = "secrets.env"


def overlay_names() -> list[str]:
    return sorted(p.name for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").exists())


def find_go() -> str:
    go = shutil.which("go") or "/usr/local/go/bin/go"
    if not Path(go).exists():
        pytest.fail("the Go toolchain is needed to build kustomize (go on PATH or /usr/local/go/bin/go)")
    return go


def ensure_kustomize() -> tuple[Path, float | None]:
    """The cached kustomize binary, built with `go install` when missing; and the build time."""
    target = CACHE / f"kustomize-{KUSTOMIZE_VERSION}" / "kustomize"
    if target.exists():
        return target, None
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=target.parent) as gobin:
        done = subprocess.run(
            [find_go(), "install", f"{KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}"],
            env={**os.environ, "GOBIN": gobin},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"go install {KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION} failed:\n{done.stderr[-3000:]}")
        # Atomic: parallel workers may build it at once, and a half-copied binary is never seen.
        os.replace(Path(gobin) / "kustomize", target)
    return target, time.monotonic() - started


@pytest.fixture(scope="session")
def kustomize(report_session) -> Path:
    binary, built_in = ensure_kustomize()
    version = subprocess.run([binary, "version"], capture_output=True, text=True, check=True).stdout.strip()
    assert version == KUSTOMIZE_VERSION, f"{binary} says {version}"
    how = f"built from its Go module in {built_in:.0f} s" if built_in is not None else "cached"
    report_session(f"kustomize {version}: {how} ({binary})")
    return binary


def build(kustomize: Path, directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run([kustomize, "build", directory], capture_output=True, text=True, timeout=120, check=False)


def documents(kustomize: Path, directory: Path) -> list[dict]:
    done = build(kustomize, directory)
    assert done.returncode == 0, f"kustomize build {directory} failed:\n{done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="session")
def k8s_copy(tmp_path_factory) -> Path:
    """deploy/k8s copied without any real production secrets a developer may keep beside it."""
    copy = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns(PRODUCTION_SECRETS))
    return copy


def fill_example_secrets(overlay: Path) -> dict[str, str]:
    """Writes the overlay's secrets.env from its example, every value a test stand-in."""
    lines = (overlay / f"{PRODUCTION_SECRETS}.example").read_text().splitlines()
    keys = [line.split("=", 1)[0] for line in lines if line.strip() and not line.startswith("#")]
    values = {key: f"test-stand-in-for-{key}" for key in keys}
    (overlay / PRODUCTION_SECRETS).write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return values


@pytest.fixture(scope="session")
def secret_stand_ins(k8s_copy) -> dict[str, dict[str, str]]:
    """Overlays whose Secret comes from an ignored secrets.env: name -> the stand-in values written."""
    return {
        overlay.name: fill_example_secrets(overlay)
        for overlay in sorted((k8s_copy / "overlays").iterdir())
        if (overlay / f"{PRODUCTION_SECRETS}.example").exists()
    }


@pytest.fixture(scope="session")
def rendered(kustomize, k8s_copy, secret_stand_ins) -> dict[str, list[dict]]:
    """Every overlay rendered: name -> documents."""
    return {name: documents(kustomize, k8s_copy / "overlays" / name) for name in overlay_names()}


@pytest.fixture(scope="session")
def rendered_base(kustomize, k8s_copy) -> list[dict]:
    return documents(kustomize, k8s_copy / "base")
