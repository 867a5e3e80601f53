"""Start, find and stop the cluster's daemons; each one's pid and log live in the state directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# Start order; stop is the reverse, one at a time (an apiserver whose etcd is gone hangs).
ORDER = (
    "containerd",
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
)


def log(message: str) -> None:
    print(f"[kubernetes] {message}", file=sys.stderr, flush=True)


def pid_file(state: Path, name: str) -> Path:
    return state / "pids" / f"{name}.pid"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def running(state: Path, name: str) -> int | None:
    """The pid of our `name` if it runs (the recorded pid, checked against its command line)."""
    try:
        pid = int(pid_file(state, name).read_text())
    except (OSError, ValueError):
        return None
    line = cmdline(pid)
    if not line or str(state) not in line or is_zombie(pid):
        return None
    return pid


def is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def start(state: Path, name: str, argv: list[str]) -> int:
    logs = state / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    pid_file(state, name).parent.mkdir(parents=True, exist_ok=True)
    with open(logs / f"{name}.log", "ab") as out:
        process = subprocess.Popen(
            argv, cwd=state, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    pid_file(state, name).write_text(str(process.pid))
    # Popen returns once exec has begun; /proc/<pid>/cmdline stays empty until the kernel has
    # mapped the new program, which for a 100 MB binary on a busy machine is long enough for
    # `running` (which recognises our processes by their command line) to call it gone.
    deadline = time.monotonic() + 30
    while not cmdline(process.pid) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return process.pid


def signal_and_wait(pid: int, grace: float) -> bool:
    """SIGTERM, then SIGKILL after `grace` seconds; True once the process is gone."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with_child_reaped(pid)
            if not Path(f"/proc/{pid}").exists() or is_zombie(pid):
                return True
            time.sleep(0.1)
    return False


def with_child_reaped(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass  # not our child (started by an earlier `up`): init reaps it


def stop(state: Path, name: str, grace: float = 20.0) -> None:
    pid = running(state, name)
    if pid is None:
        return
    log(f"stopping {name} (pid {pid})")
    if not signal_and_wait(pid, grace):
        log(f"{name} (pid {pid}) did not go away")
    pid_file(state, name).unlink(missing_ok=True)


def strays(state: Path, programs: Path) -> list[int]:
    """containerd's shims of our containerd and our programs that still run with our state directory."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        line = cmdline(int(entry.name))
        program = line.split(" ", 1)[0]
        ours = Path(program).name.startswith("containerd-shim") or program.startswith(f"{programs}/")
        if ours and str(state) in line and not is_zombie(int(entry.name)):
            found.append(int(entry.name))
    return found


def wait_for(what: str, check, timeout: float, died=None) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while True:
        if check():
            log(f"{what} after {time.monotonic() - started:.1f} s")
            return
        if died is not None and died():
            raise SystemExit(f"{what}: the process exited; see the logs in the state directory")
        if time.monotonic() - started > timeout:
            raise SystemExit(f"{what}: not within {timeout:.0f} s; see the logs in the state directory")
        time.sleep(0.3)
