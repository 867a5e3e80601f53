"""Pinned versions and where the launcher keeps what it builds (outside the repository)."""

from __future__ import annotations

import os
from pathlib import Path

KUBERNETES = "v1.34.2"
# The staging modules (k8s.io/api, client-go, ...) are published as v0.<minor>.<patch>.
STAGING = "v0." + KUBERNETES.removeprefix("v1.")
ETCD = "v3.6.6"
COREDNS = "v1.15.0"
METRICS_SERVER = "v0.8.0"

KUBE_BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl")

# Images the launcher makes itself (FROM scratch, one static binary each) and imports into containerd.
PAUSE_IMAGE = "microblog.local/pause:1"
COREDNS_IMAGE = f"microblog.local/coredns:{COREDNS}"
METRICS_SERVER_IMAGE = f"microblog.local/metrics-server:{METRICS_SERVER}"


def cache_root() -> Path:
    """`~/.cache/microblog/kubernetes-<version>` (override: MICROBLOG_KUBERNETES_CACHE)."""
    override = os.environ.get("MICROBLOG_KUBERNETES_CACHE")
    if override:
        return Path(override).expanduser().resolve()
    return Path.home() / ".cache" / "microblog" / f"kubernetes-{KUBERNETES}"


def bin_dir() -> Path:
    return cache_root() / "bin"


def images_dir() -> Path:
    return cache_root() / "images"
