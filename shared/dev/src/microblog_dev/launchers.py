"""How the supervisor starts a process: forked from the pre-loaded zygote, or as a plain subprocess."""

from __future__ import annotations

import array
import asyncio
import contextlib
import json
import os
import signal
import socket
import sys

from microblog_dev.orphans import die_with_parent


class Child:
    """What the supervisor needs of a running process, however it was started."""

    def __init__(self, pid: int, stdout: asyncio.StreamReader, exited: asyncio.Future) -> None:
        self.pid, self.stdout, self._exited = pid, stdout, exited

    @property
    def returncode(self) -> int | None:
        return self._exited.result() if self._exited.done() else None

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    def send_signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _output(process: asyncio.subprocess.Process) -> asyncio.StreamReader:
    """The output of a process started with `stdout=PIPE`."""
    assert process.stdout is not None
    return process.stdout


async def _reader(fd: int) -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb"))
    return reader


class SubprocessLauncher:
    """Each process starts from scratch (`python -m <package> ...`)."""

    async def spawn(self, argv: list[str], env: dict[str, str]) -> Child:
        process = await asyncio.create_subprocess_exec(
            *argv,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops children in order
            preexec_fn=die_with_parent,
        )
        exited = asyncio.ensure_future(process.wait())
        return Child(process.pid, _output(process), exited)

    async def close(self) -> None:
        pass


class ZygoteLauncher:
    """Processes are forks of one interpreter that imported every service already."""

    def __init__(self) -> None:
        self._socket: socket.socket | None = None
        self._zygote: asyncio.subprocess.Process | None = None
        self._spawned: asyncio.Queue[int] = asyncio.Queue()
        self._exits: dict[int, asyncio.Future] = {}
        self._ready = asyncio.Event()
        self._listening: asyncio.Task | None = None
        self._one_at_a_time = asyncio.Lock()  # replies come in request order

    async def start(self, packages: list[str]) -> asyncio.StreamReader:
        """Start the zygote importing `packages`; return its own log."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._zygote = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "microblog_dev.zygote",
            str(theirs.fileno()),
            ",".join(packages),
            pass_fds=[theirs.fileno()],
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        theirs.close()
        ours.setblocking(False)
        self._socket = ours
        self._listening = asyncio.create_task(self._listen(ours))
        return _output(self._zygote)

    async def _listen(self, zygote: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data = await loop.sock_recv(zygote, 65536)
            if not data:
                for future in self._exits.values():
                    if not future.done():
                        future.set_result(-signal.SIGKILL)
                return
            message = json.loads(data)
            if "ready" in message:
                self._ready.set()
            elif "spawned" in message:
                await self._spawned.put(message["spawned"])
            elif "exited" in message:
                future = self._exits.setdefault(message["exited"], loop.create_future())
                if not future.done():
                    future.set_result(message["code"])

    async def spawn(self, argv: list[str], env: dict[str, str]) -> Child:
        await asyncio.wait_for(self._ready.wait(), timeout=120)
        read_end, write_end = os.pipe()
        request = json.dumps({"package": argv[2], "args": argv[3:], "env": env}).encode()
        assert self._socket is not None, "ready, so started"
        async with self._one_at_a_time:
            self._socket.sendmsg([request], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [write_end]))])
            os.close(write_end)
            pid = await asyncio.wait_for(self._spawned.get(), timeout=30)
        exited = self._exits.setdefault(pid, asyncio.get_running_loop().create_future())
        return Child(pid, await _reader(read_end), exited)

    async def close(self) -> None:
        if self._zygote and self._zygote.returncode is None:
            self._zygote.terminate()
            await self._zygote.wait()
        if self._listening:
            self._listening.cancel()
        if self._socket:
            self._socket.close()
