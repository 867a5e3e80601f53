"""The processes of the platform and a supervisor that runs them on one machine."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from rich.console import Console
from rich.text import Text

from microblog_dev.launchers import Child, SubprocessLauncher

COLOURS = ["cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan", "bright_magenta"]


@dataclass
class Process:
    name: str
    argv: list[str]
    env: dict[str, str]
    health_url: str
    colour: str = "white"
    popen: Child | None = None
    restarts: int = 0
    stopping: bool = False
    log_tasks: list[asyncio.Task] = field(default_factory=list)


class Supervisor:
    """Starts processes, prefixes their logs, restarts crashes, stops them all cleanly."""

    def __init__(self, console: Console, raw_logs: bool = False, launcher=None) -> None:
        self.console = console
        self.launcher = launcher or SubprocessLauncher()
        self.raw_logs = raw_logs
        self.processes: list[Process] = []
        self.failed = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()

    async def start(self, process: Process) -> None:
        process.colour = COLOURS[len(self.processes) % len(COLOURS)] if process.colour == "white" else process.colour
        if process not in self.processes:
            self.processes.append(process)
        popen = process.popen = await self.launcher.spawn(process.argv, {**os.environ, **process.env})
        process.log_tasks = [asyncio.create_task(self._pump(process))]
        self._in_background(self._watch(process, popen))

    def follow(self, process: Process, stream: asyncio.StreamReader) -> None:
        """Show the lines of a log no started process owns (the zygote's) under `process`'s name."""
        self._in_background(self.pump(process, stream))

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)  # the event loop keeps only a weak reference to a task
        task.add_done_callback(self._background.discard)

    async def _pump(self, process: Process) -> None:
        assert process.popen and process.popen.stdout
        await self.pump(process, process.popen.stdout)

    async def pump(self, process: Process, stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            self.show(process, raw.decode(errors="replace").rstrip())

    def show(self, process: Process, line: str) -> None:
        prefix = Text(f"{process.name:<18}| ", style=process.colour)
        if not self.raw_logs and line.startswith("{"):
            try:
                entry = json.loads(line)
                stamp = entry.get("ts", "")[11:19]
                level = entry.get("level", "")
                body = Text(
                    f"{stamp} {level:<7} {entry.get('message', '')}",
                    style="red" if level in ("error", "critical") else "",
                )
                if entry.get("correlation_id"):
                    body.append(f"  cid={entry['correlation_id'][:12]}", style="dim")
                if entry.get("exception"):
                    body.append("\n" + entry["exception"], style="red")
                self.console.print(prefix + body, soft_wrap=True)
                return
            except (ValueError, AttributeError):
                pass
        self.console.print(prefix + Text(line), soft_wrap=True)

    async def _watch(self, process: Process, popen: Child) -> None:
        code = await popen.wait()
        if process.stopping or popen is not process.popen:
            return
        process.restarts += 1
        self.show(process, f"exited with code {code}; restart {process.restarts}")
        if process.restarts > 5:
            self.show(process, "restarted too often; giving up")
            self.failed.set()
            return
        await asyncio.sleep(min(2**process.restarts * 0.25, 5))
        if not process.stopping:
            await self.start(process)

    async def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = list(self.processes)
        async with httpx.AsyncClient(timeout=1.0) as client:
            while pending:
                if self.failed.is_set():
                    raise RuntimeError("a process kept crashing during start-up")
                if time.monotonic() > deadline:
                    raise TimeoutError("not ready in time: " + ", ".join(p.name for p in pending))
                still = []
                for process in pending:
                    try:
                        ok = (await client.get(process.health_url)).status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    if not ok:
                        still.append(process)
                pending = still
                if pending:
                    await asyncio.sleep(0.2)

    async def stop_all(self, timeout: float = 15.0) -> None:
        for process in reversed(self.processes):  # the gateway first, the workers last
            process.stopping = True
            if process.popen and process.popen.returncode is None:
                process.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes:
            if process.popen and process.popen.returncode is None:
                try:
                    await asyncio.wait_for(process.popen.wait(), max(0.1, deadline - time.monotonic()))
                except TimeoutError:
                    self.show(process, "did not stop in time; killing it")
                    process.popen.kill()
                    await process.popen.wait()
            for task in process.log_tasks:
                try:
                    await asyncio.wait_for(task, 2)
                except (TimeoutError, asyncio.CancelledError):
                    task.cancel()


def timestamp() -> str:
    return datetime.now().strftime("%H:%M:%S")


def python_module(package: str, command: str, port: int) -> list[str]:
    return [sys.executable, "-m", package, command, "--host", "127.0.0.1", "--port", str(port)]
