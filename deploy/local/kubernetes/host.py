"""What the cluster changes on the host, and putting it back: sysctls, iptables chains, the bridge,
mounts, network namespaces, cgroups, CNI caches."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
from pathlib import Path

from . import config

# Set by the kubelet (its kernel defaults) and kube-proxy (route_localnet, bridge netfilter).
SYSCTLS = (
    "net/ipv4/ip_forward",
    "net/ipv4/conf/all/route_localnet",
    "net/bridge/bridge-nf-call-iptables",
    "net/bridge/bridge-nf-call-ip6tables",
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)
CHAIN_PREFIXES = ("KUBE-", "CNI-")
CGROUP_ROOT = Path("/sys/fs/cgroup")


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)


def record_sysctls(state: Path) -> None:
    target = state / "sysctls.json"
    if target.exists():
        return
    values = {}
    for name in SYSCTLS:
        path = Path("/proc/sys") / name
        if path.exists():
            values[name] = path.read_text().strip()
    target.write_text(json.dumps(values))


def prepare_network() -> None:
    """Pod traffic is routed by the host and bridged traffic must pass iptables (Services)."""
    for name in ("net/ipv4/ip_forward", "net/bridge/bridge-nf-call-iptables"):
        path = Path("/proc/sys") / name
        if path.exists():
            path.write_text("1")


def refuse_unserved_services() -> None:
    """Pods' new connections meet kube-proxy's rules before the CNI firewall plugin accepts them.

    The firewall plugin's FORWARD chain accepts everything from a pod ahead of kube-proxy's
    KUBE-SERVICES, whose REJECT answers a Service without ready endpoints. Skipped, the packet
    leaves by the default route with the ClusterIP as its destination: where the host's network
    answers any address (a transparent proxy, as on these VMs), a client keeps a connection to
    that stranger (an HTTP 404 for ever, seen with the web UI calling a gateway not yet ready).
    CNI-ADMIN is the plugin's chain for such administrator rules: it runs first. Call once a pod
    exists (the plugin makes the chain) and kube-proxy has synced (it makes KUBE-SERVICES).
    """
    rule = ["-m", "conntrack", "--ctstate", "NEW", "-j", "KUBE-SERVICES"]
    if run("iptables", "-C", "CNI-ADMIN", *rule).returncode != 0:
        added = run("iptables", "-I", "CNI-ADMIN", "1", *rule)
        if added.returncode != 0:
            raise SystemExit(f"iptables -I CNI-ADMIN failed: {added.stderr}")


def restore_sysctls(state: Path) -> None:
    try:
        values = json.loads((state / "sysctls.json").read_text())
    except (OSError, ValueError):
        return
    for name, value in values.items():
        path = Path("/proc/sys") / name
        try:
            if path.read_text().strip() != value:
                path.write_text(value)
        except OSError:
            pass


def leftover_chains() -> dict[tuple[str, str], list[str]]:
    """{(command, table): [chain, ...]} of the KUBE-* and CNI-* chains still present."""
    found: dict[tuple[str, str], list[str]] = {}
    for command in ("iptables", "ip6tables"):
        for table in ("filter", "nat", "mangle"):
            dump = run(f"{command}-save", "-t", table).stdout
            chains = [line[1:].split()[0] for line in dump.splitlines() if line.startswith(":")]
            ours = [chain for chain in chains if chain.startswith(CHAIN_PREFIXES)]
            if ours:
                found[(command, table)] = ours
    return found


def remove_chains() -> None:
    """Every rule that jumps to a KUBE-*/CNI-* chain, then those chains (iptables and ip6tables)."""
    for command in ("iptables", "ip6tables"):
        for table in ("filter", "nat", "mangle"):
            dump = run(f"{command}-save", "-t", table).stdout
            chains = [line[1:].split()[0] for line in dump.splitlines() if line.startswith(":")]
            ours = [chain for chain in chains if chain.startswith(CHAIN_PREFIXES)]
            if not ours:
                continue
            for line in dump.splitlines():
                parts = line.split()
                jumps_to_ours = "-j" in parts and parts[parts.index("-j") + 1].startswith(CHAIN_PREFIXES)
                if parts[0] == "-A" and not parts[1].startswith(CHAIN_PREFIXES) and jumps_to_ours:
                    # iptables-save quotes comments; the shell-free argv needs them unquoted.
                    run(command, "-t", table, "-D", *shlex.split(line)[1:])
            for chain in ours:
                run(command, "-t", table, "-F", chain)
            for chain in ours:
                run(command, "-t", table, "-X", chain)


def mounts_under(path: Path) -> list[str]:
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if point == str(path) or point.startswith(f"{path}/"):
            found.append(point)
    return found


def unmount_all(path: Path) -> None:
    for point in sorted(mounts_under(path), key=len, reverse=True):
        if run("umount", point).returncode != 0:
            run("umount", "-l", point)


def kubepods_cgroups() -> list[Path]:
    """Our kubelet's pod cgroups (cgroupfs driver: `kubepods` under each hierarchy), deepest first."""
    found = []
    if CGROUP_ROOT.exists():
        for hierarchy in CGROUP_ROOT.iterdir():
            top = hierarchy / "kubepods"
            if top.is_dir():
                found.extend(p for p in top.rglob("*") if p.is_dir())
                found.append(top)
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def kill_pod_processes() -> int:
    killed = set()
    for group in kubepods_cgroups():
        try:
            pids = (group / "cgroup.procs").read_text().split()
        except OSError:
            continue
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
    return len(killed)


def remove_cgroups() -> None:
    for group in kubepods_cgroups():
        try:
            group.rmdir()
        except OSError:
            pass


def bridge_exists() -> bool:
    return run("ip", "link", "show", config.BRIDGE).returncode == 0


def remove_network(state: Path, containers: list[str]) -> None:
    if bridge_exists():
        run("ip", "link", "delete", config.BRIDGE)
    # libcni's result cache (containerd 1.6 keeps it in the default place): our network's
    # entries, and those of the loopback network containerd adds to each of our pod sandboxes.
    results = Path("/var/lib/cni/results")
    if results.is_dir():
        for entry in results.glob(f"{config.CNI_NETWORK}-*"):
            entry.unlink(missing_ok=True)
        for container in containers:
            for entry in results.glob(f"cni-loopback-{container}-*"):
                entry.unlink(missing_ok=True)
    # The kubelet's symlinks to our containers' logs (its ContainerLogsDir is fixed).
    containers = Path("/var/log/containers")
    if containers.is_dir():
        for link in containers.iterdir():
            if link.is_symlink() and os.readlink(link).startswith(f"{state}/"):
                link.unlink()


def leftovers(state: Path) -> list[str]:
    """What of a cluster is still on this host (empty once `down` did its job)."""
    found = []
    if mounts_under(state):
        found.append(f"mounts under {state}")
    if bridge_exists():
        found.append(f"the {config.BRIDGE} bridge")
    for (command, table), chains in leftover_chains().items():
        found.append(f"{command} {table}: {' '.join(chains)}")
    if kubepods_cgroups():
        found.append("kubepods cgroups")
    if state.exists():
        found.append(f"the state directory {state}")
    return found
