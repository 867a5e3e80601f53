"""Load through the gateway: wrk for throughput and latency, a Python probe for timeline lag.

wrk (C, one thread, 32 connections) costs this 2-core machine far less CPU than a Python
client would, so the platform keeps the cores. It is closed-loop: each connection sends its
next request when the previous answer arrives.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

SCRIPT = Path(__file__).with_name("wrk") / "rotate.lua"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]  # e.g. (("Authorization", "Bearer ..."),)
    body_prefix: str | None = None  # POST {"body": "<prefix> <n>"}


def require_wrk() -> str:
    """wrk's path; installed from Debian's packages when missing and we may, else a clear exit."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
            subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("the benchmark needs wrk (the HTTP load tool): install it, e.g. `apt-get install -y wrk`")
    return found


def _lua(requests: list[Request]) -> str:
    def entry(r: Request) -> str:
        headers = "{" + ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in r.headers) + "}"
        fields = [json.dumps(r.method), json.dumps(r.path), headers] + (
            [json.dumps(r.body_prefix)] if r.body_prefix else []
        )
        return "{" + ", ".join(fields) + "}"

    return "return {\n" + ",\n".join(entry(r) for r in requests) + "\n}\n"


async def wrk(base_url: str, requests: list[Request], seconds: float, clients: int) -> dict:
    """One wrk run: requests/s, latency percentiles (ms) and errors (non-2xx/3xx and socket errors)."""
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        data, out = Path(folder) / "requests.lua", Path(folder) / "out.json"
        data.write_text(_lua(requests))
        process = await asyncio.create_subprocess_exec(
            require_wrk(),
            "-t1",
            f"-c{clients}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(SCRIPT),
            base_url,
            env={**os.environ, "BENCH_WRK_DATA": str(data), "BENCH_WRK_OUT": str(out)},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await process.communicate()
        if process.returncode != 0 or not out.exists():
            raise RuntimeError(f"wrk failed ({process.returncode}): {stderr.decode()[-500:]}")
        raw = json.loads(out.read_text())
    seconds = raw["duration_us"] / 1e6
    errors = {k: raw[k] for k in ("status", "connect", "read", "write", "timeout") if raw[k]}
    return {
        "requests": raw["requests"],
        "seconds": round(seconds, 2),
        "rps": round(raw["requests"] / seconds, 1),
        **{f"{p}_ms": round(raw[f"{p}_us"] / 1000, 2) for p in ("p50", "p90", "p99", "max", "mean")},
        "errors": sum(errors.values()),
        "error_kinds": errors,
    }


def percentiles(samples: list[float]) -> dict:
    """p50/p90/p99/max of seconds, in milliseconds."""
    if not samples:
        return {"count": 0}
    cuts = statistics.quantiles(samples, n=100, method="inclusive") if len(samples) > 1 else samples * 99
    return {
        "count": len(samples),
        "p50_ms": round(cuts[49] * 1000, 2),
        "p90_ms": round(cuts[89] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
        "max_ms": round(max(samples) * 1000, 2),
    }


async def timeline_lag(base_url: str, pairs: list[tuple[str, str]], seconds: float, warmup: float) -> dict:
    """Post as a followed author, then poll a follower's home timeline (no consistency token).

    `pairs` are (author token, follower token). One probe at a time; the lag is measured from
    the 201 of POST /api/posts, and also from the moment the POST was sent.
    """
    after_201, after_send, post_latency, errors = [], [], [], 0
    started, probe = time.monotonic(), 0
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as client:
        while time.monotonic() - started < warmup + seconds:
            author, follower = pairs[probe % len(pairs)]
            probe += 1
            sent = time.perf_counter()
            written = await client.post(
                "/api/posts", json={"body": f"lag probe {probe}"}, headers={"Authorization": f"Bearer {author}"}
            )
            created = time.perf_counter()
            if written.status_code != 201:
                errors += 1
                continue
            post_id, seen = written.json()["id"], None
            while seen is None and time.perf_counter() - created < 10:
                page = await client.get(
                    "/api/timeline", params={"per_page": 25}, headers={"Authorization": f"Bearer {follower}"}
                )
                if page.status_code == 200 and any(item["id"] == post_id for item in page.json()["items"]):
                    seen = time.perf_counter()
            if seen is None:
                errors += 1
            elif time.monotonic() - started >= warmup:
                after_201.append(seen - created)
                after_send.append(seen - sent)
                post_latency.append(created - sent)
    return {
        "probes": len(after_201),
        "errors": errors,
        "from_201": percentiles(after_201),
        "from_send": percentiles(after_send),
        "post_latency": percentiles(post_latency),
    }
