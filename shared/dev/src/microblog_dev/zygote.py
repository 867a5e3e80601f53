"""A pre-loaded parent that forks the platform's processes.

Importing FastAPI, SQLAlchemy and pydantic costs about two CPU-seconds per process; ten
processes on a two-core laptop spent most of `microblog dev`'s start-up doing just that. The
zygote imports every service once, then each process is a fork of it that runs its package's
`__main__` as `python -m <package>` would. Children keep their own session, stdout and
environment, and die with the zygote, which dies with the supervisor.

Protocol on a Unix seqpacket socket: the supervisor sends one JSON message per process with the
write end of its log pipe attached; the zygote answers {"spawned": pid}, and later
{"exited": pid, "code": n} for every child.
"""

from __future__ import annotations

import array
import importlib
import json
import os
import runpy
import signal
import socket
import sys

from setproctitle import setproctitle

from microblog_dev.orphans import die_with_parent


def preload(packages: list[str]) -> None:
    for package in packages:
        importlib.import_module(f"{package}.app")


def run_child(request: dict, log_fd: int) -> None:
    """In the forked child: become `python -m <package> <args>` and never return."""
    code = 1
    try:
        os.setsid()
        die_with_parent()
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        # `ps` and `top` show what the fork runs, as if it had been started on its own (set it
        # before the environment changes: setproctitle reuses the memory behind it).
        setproctitle(" ".join([sys.executable, "-m", request["package"], *request["args"]]))
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = [request["package"], *request["args"]]
        runpy.run_module(request["package"], run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve(channel: socket.socket) -> None:
    def reap(*_) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            channel.sendall(json.dumps({"exited": pid, "code": os.waitstatus_to_exitcode(status)}).encode())

    signal.signal(signal.SIGCHLD, reap)
    while True:
        fds = array.array("i")
        message, ancillary, _, _ = channel.recvmsg(65536, socket.CMSG_SPACE(fds.itemsize))
        if not message:
            return  # the supervisor is gone
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
        request = json.loads(message)
        pid = os.fork()
        if pid == 0:
            channel.close()
            run_child(request, fds[0])
        os.close(fds[0])
        channel.sendall(json.dumps({"spawned": pid}).encode())


def main() -> None:
    die_with_parent()
    channel = socket.socket(fileno=int(sys.argv[1]))
    preload(sys.argv[2].split(","))
    channel.sendall(b'{"ready": true}')
    serve(channel)


if __name__ == "__main__":
    main()
