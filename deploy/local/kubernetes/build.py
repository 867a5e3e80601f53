"""Build the cluster's programs from their Go modules, once, into the cache; make the small images.

Everything comes from the Go module proxy (no release downloads, no image registry):
Kubernetes from `k8s.io/kubernetes` (its staging replaces turned into requires, since the
module zip has no `staging/`), etcd from `go.etcd.io/etcd/server/v3`, CoreDNS and
metrics-server from their own modules, and a pause program of ours. Builds run under
`nice -n 10`; the Go module and build caches live beside the binaries and are removed once
every binary is built (the binaries are the cache; `build --keep-go-cache` keeps them).
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from . import versions

MIN_GO = (1, 24)

PAUSE_SOURCE = """\
// The pod sandbox's first process: holds the namespaces, reaps orphans, exits on SIGTERM/SIGINT.
package main

import (
\t"os"
\t"os/signal"
\t"syscall"
)

func main() {
\tsignals := make(chan os.Signal, 4)
\tsignal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
\tfor sig := range signals {
\t\tif sig != syscall.SIGCHLD {
\t\t\treturn
\t\t}
\t\tfor {
\t\t\tpid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
\t\t\tif pid <= 0 || err != nil {
\t\t\t\tbreak
\t\t\t}
\t\t}
\t}
}
"""


# CoreDNS's plugins run in the order of this list (theirs, core/dnsserver/zdirectives.go, reduced).
COREDNS_PLUGINS = (
    "reload",
    "ready",
    "health",
    "errors",
    "log",
    "loadbalance",
    "cache",
    "kubernetes",
    "loop",
    "forward",
)
COREDNS_SOURCE = (
    """\
// CoreDNS with the plugins a cluster's DNS needs, in CoreDNS's own order.
package main

import (
\t"github.com/coredns/coredns/core/dnsserver"
\t"github.com/coredns/coredns/coremain"

\t_ "github.com/coredns/caddy/onevent"
"""
    + "".join(f'\t_ "github.com/coredns/coredns/plugin/{name}"\n' for name in COREDNS_PLUGINS)
    + """)

func main() {
\tif err := dnsserver.SetDirectives([]string{"""
    + ", ".join(f'"{name}"' for name in COREDNS_PLUGINS)
    + """}); err != nil {
\t\tpanic(err)
\t}
\tcoremain.Run()
}
"""
)


def log(message: str) -> None:
    print(f"[kubernetes] {message}", file=sys.stderr, flush=True)


def find_go() -> str:
    candidates = [shutil.which("go"), "/usr/local/go/bin/go", "/usr/lib/go/bin/go"]
    for go in candidates:
        if go and os.access(go, os.X_OK):
            output = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True).stdout
            match = re.match(r"go(\d+)\.(\d+)", output.strip())
            if match and (int(match[1]), int(match[2])) >= MIN_GO:
                return go
    raise SystemExit(
        f"building Kubernetes needs Go >= {MIN_GO[0]}.{MIN_GO[1]} (Debian's golang is too old; install one "
        "from go.dev into /usr/local/go)"
    )


def go_env() -> dict[str, str]:
    root = versions.cache_root() / "go"
    return {
        **os.environ,
        "GOMODCACHE": str(root / "mod"),
        "GOCACHE": str(root / "build"),
        "GOPATH": str(root / "path"),
        "GOFLAGS": "-mod=mod",
        "GOWORK": "off",
        "CGO_ENABLED": "0",
    }


def go(go_bin: str, *args: str, cwd: Path, nice: bool = False) -> str:
    command = [go_bin, *args]
    if nice:
        command = ["nice", "-n", "10", *command]
    result = subprocess.run(command, cwd=cwd, env=go_env(), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n{result.stdout}{result.stderr[-6000:]}")
    return result.stdout


def module_copy(go_bin: str, module: str, version: str, work: Path) -> Path:
    """A writable copy of a module's source (the module cache is read-only)."""
    info = json.loads(go(go_bin, "mod", "download", "-json", f"{module}@{version}", cwd=work))
    target = work / module.replace("/", "_")
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(info["Dir"], target)
    subprocess.run(["chmod", "-R", "u+w", str(target)], check=True)
    for name in ("go.work", "go.work.sum"):
        (target / name).unlink(missing_ok=True)
    return target


def build_kubernetes(go_bin: str, work: Path, out: Path) -> None:
    source = module_copy(go_bin, "k8s.io/kubernetes", versions.KUBERNETES, work)
    mod = json.loads(go(go_bin, "mod", "edit", "-json", cwd=source))
    edits = []
    for replace in mod.get("Replace") or []:
        if replace["New"]["Path"].startswith("./staging/"):
            name = replace["Old"]["Path"]
            edits.append(f"-dropreplace={name}")
            if name not in ("k8s.io/sample-cli-plugin", "k8s.io/sample-controller"):  # the proxy refuses these
                edits.append(f"-require={name}@{versions.STAGING}")
    go(go_bin, "mod", "edit", *edits, cwd=source)
    ldflags = f"-s -w -X k8s.io/component-base/version.gitVersion={versions.KUBERNETES}"
    packages = [f"./cmd/{name}" for name in versions.KUBE_BINARIES]
    go(go_bin, "build", "-trimpath", "-ldflags", ldflags, "-o", str(out) + "/", *packages, cwd=source, nice=True)


def build_main_module(go_bin: str, work: Path, out: Path, module: str, version: str, package: str, name: str) -> None:
    """Build a program inside its own module (keeps the module's replace directives)."""
    source = module_copy(go_bin, module, version, work)
    go(go_bin, "build", "-trimpath", "-ldflags", "-s -w", "-o", str(out / name), package, cwd=source, nice=True)


def build_etcd(go_bin: str, work: Path, out: Path) -> None:
    wrapper = work / "etcd-wrapper"
    wrapper.mkdir(parents=True, exist_ok=True)
    (wrapper / "go.mod").write_text("module microblog.local/etcd\n\ngo 1.24\n")
    go(go_bin, "get", f"go.etcd.io/etcd/server/v3@{versions.ETCD}", cwd=wrapper)
    go(
        go_bin,
        "build",
        "-trimpath",
        "-ldflags",
        "-s -w",
        "-o",
        str(out / "etcd"),
        "go.etcd.io/etcd/server/v3",
        cwd=wrapper,
        nice=True,
    )


def build_coredns(go_bin: str, work: Path, out: Path) -> None:
    """CoreDNS with only the plugins the cluster's Corefile uses (the full set pulls in every cloud's SDK)."""
    source = work / "coredns"
    source.mkdir(parents=True, exist_ok=True)
    (source / "go.mod").write_text("module microblog.local/coredns\n\ngo 1.26\n")
    (source / "main.go").write_text(COREDNS_SOURCE)
    go(go_bin, "get", f"github.com/coredns/coredns@{versions.COREDNS}", cwd=source)
    go(go_bin, "build", "-trimpath", "-ldflags", "-s -w", "-o", str(out / "coredns"), ".", cwd=source, nice=True)


def build_pause(go_bin: str, work: Path, out: Path) -> None:
    source = work / "pause"
    source.mkdir(parents=True, exist_ok=True)
    (source / "go.mod").write_text("module microblog.local/pause\n\ngo 1.24\n")
    (source / "main.go").write_text(PAUSE_SOURCE)
    go(go_bin, "build", "-trimpath", "-ldflags", "-s -w", "-o", str(out / "pause"), ".", cwd=source)


def image_tar(reference: str, binary: Path, entrypoint: list[str], target: Path) -> None:
    """A `docker save` archive of a FROM-scratch image holding one binary (what `ctr import` reads)."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        for folder in ("etc", "tmp"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755
            tar.addfile(info)
        info = tarfile.TarInfo(binary.name)
        info.size, info.mode = binary.stat().st_size, 0o755
        with binary.open("rb") as handle:
            tar.addfile(info, handle)
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Entrypoint": entrypoint, "WorkingDir": "/"},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    layer_name = diff_id.removeprefix("sha256:") + "/layer.tar"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [reference], "Layers": [layer_name]}]).encode()
    partial = target.with_suffix(".partial")
    with tarfile.open(partial, mode="w") as tar:  # uncompressed: ctr 1.6 does not read gzip archives
        for name, data in ((layer_name, layer_bytes), (config_name, config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    partial.rename(target)


def images() -> dict[str, Path]:
    folder = versions.images_dir()
    return {
        versions.PAUSE_IMAGE: folder / "pause.tar",
        versions.COREDNS_IMAGE: folder / "coredns.tar",
        versions.METRICS_SERVER_IMAGE: folder / "metrics-server.tar",
    }


def missing() -> list[str]:
    wanted = [*versions.KUBE_BINARIES, "etcd", "coredns", "metrics-server", "pause"]
    absent = [name for name in wanted if not (versions.bin_dir() / name).exists()]
    return absent + [str(path) for path in images().values() if not path.exists()]


def ensure_built(keep_go_cache: bool = False) -> Path:
    """Build whatever is missing from the cache; a second caller waits for the first."""
    out = versions.bin_dir()
    if not missing():
        return out
    root = versions.cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        go_bin = find_go()
        work = root / "work"
        work.mkdir(exist_ok=True)
        staging = root / "bin.partial"
        staging.mkdir(exist_ok=True)
        steps = [
            ("kubernetes", versions.KUBE_BINARIES, lambda: build_kubernetes(go_bin, work, staging)),
            ("etcd", ("etcd",), lambda: build_etcd(go_bin, work, staging)),
            ("coredns", ("coredns",), lambda: build_coredns(go_bin, work, staging)),
            (
                "metrics-server",
                ("metrics-server",),
                lambda: build_main_module(
                    go_bin,
                    work,
                    staging,
                    "sigs.k8s.io/metrics-server",
                    versions.METRICS_SERVER,
                    "./cmd/metrics-server",
                    "metrics-server",
                ),
            ),
            ("pause", ("pause",), lambda: build_pause(go_bin, work, staging)),
        ]
        out.mkdir(exist_ok=True)
        for what, names, step in steps:
            if all((out / name).exists() for name in names):
                continue
            log(f"building {what} (nice -n 10; the first build of Kubernetes takes 8+ minutes on 2 cores)")
            started = time.monotonic()
            step()
            for name in names:  # a complete binary appears in bin/ only once its build succeeded
                (staging / name).rename(out / name)
            log(f"built {what} in {time.monotonic() - started:.0f} s")
        folder = versions.images_dir()
        folder.mkdir(exist_ok=True)
        entrypoints = {
            versions.PAUSE_IMAGE: ("pause", ["/pause"]),
            versions.COREDNS_IMAGE: ("coredns", ["/coredns"]),
            versions.METRICS_SERVER_IMAGE: ("metrics-server", ["/metrics-server"]),
        }
        for reference, path in images().items():
            if not path.exists():
                name, entrypoint = entrypoints[reference]
                image_tar(reference, out / name, entrypoint, path)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
        if not keep_go_cache:
            prune_go_cache()
    return out


def prune_go_cache() -> None:
    root = versions.cache_root() / "go"
    if root.exists():
        subprocess.run(["chmod", "-R", "u+w", str(root)], check=False)
        shutil.rmtree(root, ignore_errors=True)
