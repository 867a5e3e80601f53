"""Where the time goes: CPU per process role, py-spy profiles, and the home query alone.

CPU is read from /proc (psutil) before and after each phase: cores used per role (gateway,
timeline api, postgres, ...) tell at once who is busy on this 2-core machine.
"""

from __future__ import annotations

import asyncio
import re
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil

from bench.load import percentiles
from bench.platform import Platform

MACHINE = "_machine"


class CpuMeter:
    """CPU seconds per role; `cores(before, after, seconds)` is the average cores each used."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def snapshot(self) -> dict[str, dict[int, float]]:
        by_role: dict[str, dict[int, float]] = {}
        roles = self.platform.processes()
        roles["supervisor (microblog dev)"] = [psutil.Process(self.platform.stack.process.pid)]
        for role, processes in roles.items():
            for process in processes:
                try:
                    times = process.cpu_times()
                except psutil.Error:
                    continue
                by_role.setdefault(role, {})[process.pid] = times.user + times.system
        for role, who in (("load generator (wrk)", resource.RUSAGE_CHILDREN), ("bench (python)", resource.RUSAGE_SELF)):
            usage = resource.getrusage(who)
            by_role[role] = {0: usage.ru_utime + usage.ru_stime}
        total = psutil.cpu_times()
        by_role[MACHINE] = {0: sum(total) - total.idle - getattr(total, "iowait", 0.0)}
        return by_role

    @staticmethod
    def cores(before: dict, after: dict, seconds: float) -> dict[str, float]:
        used = {}
        for role, now in after.items():
            then = before.get(role, {})
            used[role] = sum(cpu - then.get(pid, 0.0) for pid, cpu in now.items()) / seconds
        machine = used.pop(MACHINE)
        # Other work on this shared machine (other people's tests, brokers) competes for the cores too.
        used["other processes on the machine"] = max(0.0, machine - sum(used.values()))
        ranked = sorted(used.items(), key=lambda item: -item[1])
        return {role: round(cores, 2) for role, cores in ranked} | {
            f"machine busy (of {psutil.cpu_count()})": round(machine, 2)
        }


def py_spy() -> str | None:
    return shutil.which("py-spy") or (
        str(Path(sys.prefix) / "bin" / "py-spy") if (Path(sys.prefix) / "bin" / "py-spy").exists() else None
    )


async def profile(pids: dict[str, int], seconds: float, keep: Path | None = None, top: int = 15) -> dict:
    """Sample the processes with py-spy (100 Hz, on-CPU only): the functions using their time.

    With `keep` (a path prefix), the folded stacks are also saved as `<keep>-<role>.folded`.
    """
    binary = py_spy()
    if binary is None:
        return {"skipped": "py-spy not found (it comes with the bench dependency group)"}
    with tempfile.TemporaryDirectory(prefix="bench-py-spy-") as folder:
        runs = {}
        for role, pid in pids.items():
            output = Path(folder) / f"{pid}.txt"
            runs[role] = (
                output,
                await asyncio.create_subprocess_exec(
                    binary,
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(round(seconds)),
                    "--rate",
                    "100",
                    "--format",
                    "raw",
                    "--nonblocking",
                    "--output",
                    str(output),
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,
                ),
            )
        profiles = {}
        for role, (output, process) in runs.items():
            _, stderr = await process.communicate()
            if process.returncode != 0 or not output.exists():
                profiles[role] = {"skipped": f"py-spy failed: {stderr.decode()[-300:]}"}
                continue
            profiles[role] = summarise_stacks(output.read_text(), top)
            if keep is not None:
                saved = keep.with_name(f"{keep.name}-{role.replace(' ', '-')}.folded")
                saved.parent.mkdir(parents=True, exist_ok=True)
                saved.write_text(output.read_text())
                profiles[role]["folded_stacks"] = saved.name
    return profiles


def summarise_stacks(folded: str, top: int) -> dict:
    """Self and inclusive shares of functions in py-spy's folded stacks ("a;b;c 12" lines)."""
    own, inclusive, packages, total = Counter(), Counter(), Counter(), 0
    for line in folded.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        total += int(count)
        own[frames[-1]] += int(count)
        packages[package_of(frames[-1])] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)

    def share(counter: Counter) -> list:
        return [[frame, round(100 * n / total, 1)] for frame, n in counter.most_common(top)]

    return {
        "samples": total,
        "self_percent_by_package": share(packages),
        "self_percent": share(own),
        "inclusive_percent": share(inclusive),
    }


def package_of(frame: str) -> str:
    """ "f (httpcore/_async/http11.py)" -> "httpcore"; frozen modules by their own name."""
    where = frame[frame.rfind("(") + 1 :].rstrip(")")
    if where.startswith("<frozen "):
        return where[len("<frozen ") :].rstrip(">").split(".")[0]
    return where.split("/")[0].removesuffix(".py")


async def home_query_alone(database_url: str, readers: list[int], runs: int = 300) -> dict:
    """The home timeline's SQL from this process, with no HTTP at all (the read API is measured
    apart, with wrk). The timeline publishes that query for tools as its `microblog.queries`
    entry point `home_timeline`, so the bench times the real one without importing the service.
    """
    from importlib.metadata import entry_points

    from microblog_shared.http.pagination import PageParams
    from microblog_shared.runtime.db import create_engine

    (home_timeline,) = [point.load() for point in entry_points(group="microblog.queries", name="home_timeline")]

    engine = create_engine(database_url, pool_size=1)
    page, samples = PageParams(page=1, per_page=25), []
    try:
        for run in range(runs + 20):
            started = time.perf_counter()
            async with engine.connect() as conn:
                await home_timeline(conn, readers[run % len(readers)], page)
            if run >= 20:  # the first ones warm the pool and the plan cache
                samples.append(time.perf_counter() - started)
    finally:
        await engine.dispose()
    return percentiles(samples)
