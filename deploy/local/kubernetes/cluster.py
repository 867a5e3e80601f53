"""Bring the single-node cluster up, load images into it, report on it, and tear it down to nothing."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

from . import addons, build, config, host, pki, processes, versions
from .processes import log

PACKAGES = {  # program or file the cluster needs -> the Debian package that has it
    "containerd": "containerd",
    "runc": "runc",
    "iptables": "iptables",
    "conntrack": "conntrack",
    "socat": "socat",
    f"{config.CNI_BIN_DIR}/bridge": "containernetworking-plugins",
}


def default_state() -> Path:
    """The cluster's state (logs, pki, containerd, etcd): MICROBLOG_KUBERNETES_STATE or /var/tmp."""
    return Path(os.environ.get("MICROBLOG_KUBERNETES_STATE", "/var/tmp/microblog-kubernetes")).resolve()


def missing_packages() -> list[str]:
    absent = []
    for program, package in PACKAGES.items():
        found = Path(program).exists() if program.startswith("/") else shutil.which(program)
        if not found:
            absent.append(package)
    return absent


def install_packages() -> None:
    absent = missing_packages()
    if absent:
        log(f"installing {' '.join(absent)} from Debian's packages")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-q", *absent], check=True, env=env, stdout=subprocess.DEVNULL)


def node_ip() -> str:
    route = subprocess.run(["ip", "-4", "route", "get", "1.1.1.1"], capture_output=True, text=True).stdout.split()
    return route[route.index("src") + 1] if "src" in route else "127.0.0.1"


def kubeconfig(state: Path) -> Path:
    return state / "admin.kubeconfig"


def kubectl(state: Path, *args: str, input: str | None = None, check: bool = True) -> str:
    result = subprocess.run(
        [str(versions.bin_dir() / "kubectl"), f"--kubeconfig={kubeconfig(state)}", *args],
        input=input,
        capture_output=True,
        text=True,
    )
    if check and result.returncode != 0:
        raise SystemExit(f"kubectl {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def ctr(state: Path, *args: str, stdin=None) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(
        ["ctr", "--address", str(config.socket(state)), "--namespace", "k8s.io", *args],
        stdin=stdin,
        capture_output=True,
        text=True,
    )


def apiserver_ready(state: Path) -> bool:
    context = ssl.create_default_context(cafile=str(state / "pki" / "ca.crt"))
    context.load_cert_chain(str(state / "pki" / "admin.crt"), str(state / "pki" / "admin.key"))
    try:
        with urllib.request.urlopen("https://127.0.0.1:6443/readyz", context=context, timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def etcd_ready() -> bool:
    try:
        with urllib.request.urlopen("http://127.0.0.1:2379/health", timeout=2) as answer:
            return b'"true"' in answer.read()
    except OSError:
        return False


def import_archive(state: Path, archive: Path) -> None:
    with open(archive, "rb") as handle:
        result = ctr(state, "images", "import", "-", stdin=handle)
    if result.returncode != 0:
        raise SystemExit(f"ctr images import {archive} failed:\n{result.stderr}")


def reference(image: str) -> str:
    """The full name containerd and the kubelet use: `microblog/x` is `docker.io/microblog/x:latest`."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and not digest:
        name += ":latest"
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    return name + (f"@{digest}" if digest else "")


def load(state: Path, images: list[str]) -> None:
    """Copy images from the Docker engine into the cluster's containerd (`docker save | ctr import`).

    An image given as SOURCE=TARGET is also tagged TARGET in the cluster (the compose build's
    `microblog/posts` as the dev overlay's `microblog/posts:dev`). Every image goes through one
    `docker save`, so the layers they share (the Debian base, the Python environment) travel once.
    """
    if processes.running(state, "containerd") is None:
        raise SystemExit("the cluster is not up")
    pairs = [(image.partition("=")[0], image.partition("=")[2]) for image in images]
    started = time.monotonic()
    save = subprocess.Popen(["docker", "save", *dict.fromkeys(source for source, _ in pairs)], stdout=subprocess.PIPE)
    result = ctr(state, "images", "import", "-", stdin=save.stdout)
    # Closed here too, so that a `docker save` whose reader is gone fails instead of blocking on
    # a full pipe for ever (seen once: ctr had exited, save.wait() never returned).
    assert save.stdout is not None
    save.stdout.close()
    try:
        saved = save.wait(timeout=60)
    except subprocess.TimeoutExpired:
        save.kill()
        saved = save.wait()
    present = set(ctr(state, "images", "list", "--quiet").stdout.split())
    absent = [source for source, _ in pairs if reference(source) not in present]
    if result.returncode != 0 or absent:
        raise SystemExit(
            f"loading {' '.join(absent or images)} failed (docker save: {saved}, ctr import: {result.returncode}):\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    for source, target in pairs:
        if target:
            tagged = ctr(state, "images", "tag", "--force", reference(source), reference(target))
            if tagged.returncode != 0:
                raise SystemExit(f"tagging {source} as {target} failed:\n{tagged.stderr}")
    log(f"loaded {len(pairs)} images in {time.monotonic() - started:.1f} s")


def up(state: Path, timeout: float = 300.0) -> Path:
    """Start every part (building what the cache lacks); returns the admin kubeconfig."""
    if processes.running(state, "kube-apiserver") is not None:
        log(f"the cluster in {state} is up already")
        return kubeconfig(state)
    install_packages()
    binaries = build.ensure_built()
    started = time.monotonic()
    leftovers = host.leftovers(state)
    if leftovers:
        log(f"clearing what an earlier cluster left: {', '.join(leftovers)}")
        down(state)
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o700)
    address = node_ip()
    certs = state / "pki"
    pki.make(certs, config.NODE_NAME, address, config.API_SERVICE_IP)
    server = "https://127.0.0.1:6443"
    configs = {name: pki.kubeconfig(certs, name, server, state / f"{name}.kubeconfig") for name in pki.CLIENTS}
    configs["kubelet"] = pki.kubeconfig(certs, "kubelet", server, state / "kubelet.kubeconfig")
    host.record_sysctls(state)
    host.prepare_network()
    config.cni(state)
    try:
        start_all(state, binaries, certs, configs, address, timeout)
        start_addons(state, timeout)
    except BaseException:
        log(f"the cluster did not come up; logs in {state / 'logs'}; tearing down")
        keep = state.with_name(state.name + "-failed-logs")
        shutil.rmtree(keep, ignore_errors=True)
        shutil.copytree(state / "logs", keep, dirs_exist_ok=True)
        down(state)
        raise
    log(f"cluster up in {time.monotonic() - started:.1f} s; KUBECONFIG={kubeconfig(state)}")
    return kubeconfig(state)


def start_all(state: Path, bins: Path, certs: Path, configs: dict[str, Path], address: str, timeout: float) -> None:
    def died(name: str):  # type: ignore[no-untyped-def]
        return lambda: processes.running(state, name) is None

    containerd_config = config.containerd(state)
    processes.start(state, "containerd", ["containerd", "--config", str(containerd_config)])
    processes.wait_for("containerd answers", lambda: ctr(state, "version").returncode == 0, 60, died("containerd"))
    for archive in build.images().values():
        import_archive(state, archive)
    processes.start(
        state,
        "etcd",
        [
            str(bins / "etcd"), "--name=default", f"--data-dir={state / 'etcd'}",
            "--listen-client-urls=http://127.0.0.1:2379", "--advertise-client-urls=http://127.0.0.1:2379",
            "--listen-peer-urls=http://127.0.0.1:2380", "--initial-advertise-peer-urls=http://127.0.0.1:2380",
            "--initial-cluster=default=http://127.0.0.1:2380", "--listen-metrics-urls=",
            "--unsafe-no-fsync", "--log-level=warn",
        ],
    )  # fmt: skip
    processes.wait_for("etcd healthy", etcd_ready, 60, died("etcd"))
    pem = lambda name: str(certs / name)  # noqa: E731
    processes.start(
        state,
        "kube-apiserver",
        [
            str(bins / "kube-apiserver"), "--etcd-servers=http://127.0.0.1:2379",
            f"--advertise-address={address}", "--bind-address=0.0.0.0", "--secure-port=6443",
            f"--service-cluster-ip-range={config.SERVICE_CIDR}", "--allow-privileged=true", "--anonymous-auth=false",
            "--authorization-mode=Node,RBAC", f"--client-ca-file={pem('ca.crt')}",
            f"--tls-cert-file={pem('apiserver.crt')}", f"--tls-private-key-file={pem('apiserver.key')}",
            f"--kubelet-client-certificate={pem('apiserver-kubelet-client.crt')}",
            f"--kubelet-client-key={pem('apiserver-kubelet-client.key')}",
            "--kubelet-preferred-address-types=InternalIP",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pem('sa.pub')}", f"--service-account-signing-key-file={pem('sa.key')}",
            # The aggregation layer (metrics.k8s.io is served by metrics-server through it).
            f"--requestheader-client-ca-file={pem('ca.crt')}", "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={pem('front-proxy-client.crt')}",
            f"--proxy-client-key-file={pem('front-proxy-client.key')}", "--enable-aggregator-routing=true",
            "--profiling=false", "--v=1",
        ],
    )  # fmt: skip
    processes.wait_for("kube-apiserver ready", lambda: apiserver_ready(state), timeout, died("kube-apiserver"))
    controllers = configs["kube-controller-manager"]
    processes.start(
        state,
        "kube-controller-manager",
        [
            str(bins / "kube-controller-manager"), f"--kubeconfig={controllers}",
            f"--authentication-kubeconfig={controllers}", f"--authorization-kubeconfig={controllers}",
            "--bind-address=127.0.0.1", "--leader-elect=false", "--use-service-account-credentials=true",
            f"--cluster-signing-cert-file={pem('ca.crt')}", f"--cluster-signing-key-file={pem('ca.key')}",
            f"--root-ca-file={pem('ca.crt')}", f"--service-account-private-key-file={pem('sa.key')}",
            f"--service-cluster-ip-range={config.SERVICE_CIDR}", "--profiling=false", "--v=1",
        ],
    )  # fmt: skip
    scheduler = configs["kube-scheduler"]
    processes.start(
        state,
        "kube-scheduler",
        [
            str(bins / "kube-scheduler"), f"--kubeconfig={scheduler}", f"--authentication-kubeconfig={scheduler}",
            f"--authorization-kubeconfig={scheduler}", "--bind-address=127.0.0.1", "--leader-elect=false",
            "--profiling=false", "--v=1",
        ],
    )  # fmt: skip
    (state / "pod-logs").mkdir(exist_ok=True)
    processes.start(
        state,
        "kubelet",
        [
            str(bins / "kubelet"), f"--config={config.kubelet(state, certs)}", f"--kubeconfig={configs['kubelet']}",
            f"--root-dir={state / 'kubelet'}", f"--hostname-override={config.NODE_NAME}", f"--node-ip={address}",
            f"--cert-dir={state / 'kubelet' / 'pki'}", "--v=1",
        ],
    )  # fmt: skip
    processes.start(
        state,
        "kube-proxy",
        [str(bins / "kube-proxy"), f"--config={config.kube_proxy(state, configs['kube-proxy'])}", "--v=1"],
    )
    processes.wait_for("node Ready", lambda: node_ready(state), timeout, died("kubelet"))


def start_addons(state: Path, timeout: float) -> None:
    """CoreDNS and metrics-server as pods; returns once both serve (the metrics API included)."""
    kubectl(state, "apply", "-f", "-", input=addons.COREDNS)
    kubectl(state, "apply", "-f", "-", input=addons.METRICS_SERVER)
    for deployment in ("coredns", "metrics-server"):
        kubectl(
            state, "-n", "kube-system", "rollout", "status", f"deployment/{deployment}", f"--timeout={timeout:.0f}s"
        )
    host.refuse_unserved_services()
    processes.wait_for(
        "metrics API available",
        lambda: "True" in kubectl(state, "get", "apiservice", "v1beta1.metrics.k8s.io", "-o",
                                  "jsonpath={.status.conditions[?(@.type=='Available')].status}", check=False),
        timeout,
    )  # fmt: skip


def node_ready(state: Path) -> bool:
    jsonpath = "jsonpath={.status.conditions[?(@.type=='Ready')].status}"
    return kubectl(state, "get", "node", config.NODE_NAME, "-o", jsonpath, check=False).strip() == "True"


def down(state: Path) -> list[str]:
    """Stop everything and remove every trace; returns what could not be removed (empty: all gone)."""
    started = time.monotonic()
    programs = versions.bin_dir()
    for name in ("kube-proxy", "kubelet"):
        processes.stop(state, name)
    containers: list[str] = []
    if processes.running(state, "containerd") is not None:
        tasks = ctr(state, "tasks", "list", "--quiet").stdout.split()
        for task in tasks:
            ctr(state, "tasks", "kill", "--signal", "SIGKILL", "--all", task)
        for task in tasks:
            ctr(state, "tasks", "delete", "--force", task)
        containers = ctr(state, "containers", "list", "--quiet").stdout.split()
        if containers:
            ctr(state, "containers", "delete", *containers)
    killed = host.kill_pod_processes()
    if killed:
        log(f"killed {killed} processes left in the pods' cgroups")
    for name in reversed(processes.ORDER):
        processes.stop(state, name)
    for pid in processes.strays(state, programs):
        log(f"stopping stray {processes.cmdline(pid)[:100]} (pid {pid})")
        processes.signal_and_wait(pid, 5.0)
    if (programs / "kube-proxy").exists():
        subprocess.run([str(programs / "kube-proxy"), "--cleanup"], capture_output=True)
    host.remove_chains()
    host.unmount_all(state)
    host.remove_network(state, containers)
    host.remove_cgroups()
    host.restore_sysctls(state)
    if state.exists() and not host.mounts_under(state):
        subprocess.run(["chmod", "-R", "u+w", str(state)], capture_output=True)
        shutil.rmtree(state, ignore_errors=True)
    remaining = host.leftovers(state) + [f"process {pid}" for pid in processes.strays(state, programs)]
    log(f"teardown in {time.monotonic() - started:.1f} s" + (f"; left: {', '.join(remaining)}" if remaining else ""))
    return remaining


def status(state: Path) -> dict[str, int | None]:
    return {name: processes.running(state, name) for name in processes.ORDER}
