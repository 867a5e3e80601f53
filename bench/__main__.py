"""`python -m bench`: seed a fresh platform through the event log on each bus, then load it.

uv run --group bench python -m bench                      # both buses, the issue's dataset
uv run --group bench python -m bench --bus postgres --scale 0.05 --duration 5   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform as host
import random
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
import psutil
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from bench import analysis, report, web
from bench.dataset import PASSWORD, Dataset, add_size_arguments, generate, shape_of
from bench.load import Request, require_wrk, timeline_lag, wrk
from bench.platform import Platform
from bench.replaying import replay_timeline
from bench.search import phase as search_phase
from bench.seed import Seeder
from microblog_shared.http.auth import SIGNATURE_SECONDS, caller_headers
from microblog_testkit.devstack import LIFTED_LIMITS

console = Console(highlight=False)
RESULTS = Path(__file__).with_name("results")


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description:<26}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


async def sleep_with_bar(label: str, seconds: float, work) -> object:
    """Await `work` while a bar fills over the `seconds` it should take."""
    with progress_bar() as progress:
        task = progress.add_task(label, total=round(seconds))
        running = asyncio.ensure_future(work)
        started = time.monotonic()
        while not running.done():
            progress.update(task, completed=min(seconds, time.monotonic() - started))
            await asyncio.wait({running}, timeout=0.25)
        progress.update(task, completed=seconds)
    return running.result()


async def log_in(base_url: str, usernames: dict[int, str], user_ids: list[int]) -> dict[int, str]:
    """Access tokens through POST /api/tokens (HTTP Basic), as a client gets them."""
    tokens = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as client:
        for user_id in user_ids:
            answer = await client.post("/api/tokens", auth=(usernames[user_id], PASSWORD))
            answer.raise_for_status()
            tokens[user_id] = answer.json()["token"]
    return tokens


def load_plan(data: Dataset, tokens: dict[int, str], seed: int) -> dict[str, list[Request]]:
    """What each endpoint's clients send: readers' tokens rotate, user ids are drawn at random."""
    rng = random.Random(seed)
    readers = [(("Authorization", f"Bearer {tokens[r]}"),) for r in data.readers]
    users = [rng.randint(1, len(data.usernames)) for _ in range(2000)]
    return {
        "home": [Request("GET", "/api/timeline?per_page=25", auth) for auth in readers],
        "explore": [Request("GET", "/api/explore?per_page=25", auth) for auth in readers],
        "user_posts": [
            Request("GET", f"/api/users/{u}/posts?per_page=25", readers[i % len(readers)]) for i, u in enumerate(users)
        ],
        "user": [Request("GET", f"/api/users/{u}", readers[i % len(readers)]) for i, u in enumerate(users)],
        "create_post": [Request("POST", "/api/posts", auth, body_prefix="bench load post") for auth in readers],
    }


async def run_bus(bus: str, data: Dataset, args, workdir: Path) -> dict:
    result: dict = {"bus": bus}
    platform = Platform(
        workdir / bus,
        bus,
        {
            "MICROBLOG_CELEBRITY_FOLLOWERS": str(args.celebrity_followers),
            **LIFTED_LIMITS,  # thousands of sign-ins and writes from one address
        },
    )
    with console.status(f"[{bus}] starting PostgreSQL{', Kafka' if bus == 'kafka' else ''} and microblog dev…"):
        started = time.monotonic()
        await asyncio.to_thread(platform.start)
        result["start_seconds"] = round(time.monotonic() - started, 1)
    console.print(f"[{bus}] platform ready at {platform.url} in {result['start_seconds']} s")
    try:
        started = time.monotonic()
        with progress_bar() as progress:
            result["seed_seconds"] = await Seeder(data, platform.urls, progress).run()
            expected = len(data.usernames) + len(data.follows) + len(data.posts)
            result["catch_up_seconds"] = round(await platform.wait_for_timeline(expected, progress), 1)
        result["seed_to_applied_seconds"] = round(time.monotonic() - started, 1)
        console.print(
            f"[{bus}] seeded in {result['seed_seconds']['total']} s; the timeline caught up "
            f"{result['catch_up_seconds']} s later"
        )
        await measure(platform, data, args, result)
        if args.replay:
            with progress_bar() as progress:
                result["replay"] = await replay_timeline(platform, args.celebrity_followers, progress)
            console.print(
                f"[{bus}] replayed the timeline: {result['replay']['records']:,} records in "
                f"{result['replay']['seconds']} s ({result['replay']['records_per_second']:,}/s)"
            )
    finally:
        with console.status(f"[{bus}] stopping the platform…"):
            await asyncio.to_thread(platform.stop)
    return result


async def measure(platform: Platform, data: Dataset, args, result: dict) -> None:
    url, cpu = platform.url, analysis.CpuMeter(platform)
    lag_authors = {r: next(f for f in data.followed_by(r) if f != data.celebrity) for r in data.readers[:5]}
    tokens = await log_in(url, data.usernames, [*data.readers, *set(lag_authors.values())])
    pairs = [(tokens[author], tokens[reader]) for reader, author in lag_authors.items()]
    result["endpoints"] = {}
    for name, requests in load_plan(data, tokens, args.seed).items():
        await sleep_with_bar(f"{name}: warm-up", args.warmup, wrk(url, requests, args.warmup, args.clients))
        before, started = cpu.snapshot(), time.monotonic()
        work = wrk(url, requests, args.duration, args.clients)
        if name == "create_post":  # the lag probe runs beside the write load: lag under load
            work = asyncio.gather(work, timeline_lag(url, pairs, args.duration - 1, 0))
        figures = await sleep_with_bar(f"{name}: measuring", args.duration, work)
        if name == "create_post":
            figures, result["lag_under_write_load"] = figures
        figures["cpu_cores"] = cpu.cores(before, cpu.snapshot(), time.monotonic() - started)
        figures["load_average_1m"] = round(os.getloadavg()[0], 2)
        result["endpoints"][name] = figures
    result["web_pages"] = await web.measure(platform.stack.web_url, data, args, sleep_with_bar)
    result["lag"] = await sleep_with_bar(
        "lag: probing", args.warmup + args.duration, timeline_lag(url, pairs, args.duration, args.warmup)
    )
    show(result)
    if args.analyse:
        try:
            result["analysis"] = await analyse(platform, data, tokens, args)
        except Exception as error:  # the measurements above must survive a failed analysis
            console.print(f"[red]the analysis failed: {error!r}[/red]")
            result["analysis"] = {"error": repr(error)}


async def analyse(platform: Platform, data: Dataset, tokens: dict[int, str], args) -> dict:
    """The home timeline three ways (SQL alone, the timeline service direct, the gateway) and profiles."""
    seconds = max(5, args.duration // 2)
    timeline = f"http://127.0.0.1:{platform.api_port('timeline')}"
    secret = platform.internal_secret()

    def direct() -> list[Request]:
        """Readers named as the gateway names them: signed now, so believed for the next minute."""
        return [
            Request("GET", "/timeline?per_page=25", tuple(caller_headers(r, None, secret).items()))
            for r in data.readers
        ]

    await wrk(timeline, direct(), args.warmup, args.clients)
    direct_seconds = min(seconds, SIGNATURE_SECONDS - 10)  # the signatures must outlive the run
    out = {
        "home_sql_alone": await analysis.home_query_alone(platform.urls["timeline"], data.readers),
        "home_timeline_service_direct": await sleep_with_bar(
            "home direct: measuring", direct_seconds, wrk(timeline, direct(), direct_seconds, args.clients)
        ),
    }
    processes = platform.processes()
    pids = {role: processes[role][0].pid for role in ("gateway api", "timeline api")}
    home = load_plan(data, tokens, args.seed)["home"]
    gateway_run, profiles = await sleep_with_bar(
        "home + py-spy: profiling",
        seconds,
        asyncio.gather(
            wrk(platform.url, home, seconds, args.clients),
            analysis.profile(pids, seconds - 1, keep=args.results / f"{args.stamp}-{platform.bus}"),
        ),
    )
    out["home_through_gateway_while_profiled"] = gateway_run
    out["profiles"] = profiles
    return out


def show(result: dict) -> None:
    table = Table(title=f"{result['bus']} bus, through the gateway")
    for column in ("endpoint", "req/s", "p50 ms", "p90 ms", "p99 ms", "errors", "busiest (cores)"):
        table.add_column(column, justify="left" if column in ("endpoint", "busiest (cores)") else "right")
    for name, f in result["endpoints"].items():
        busiest = ", ".join(f"{role} {cores}" for role, cores in list(f["cpu_cores"].items())[:3])
        table.add_row(
            name, f"{f['rps']:,.0f}", str(f["p50_ms"]), str(f["p90_ms"]), str(f["p99_ms"]), str(f["errors"]), busiest
        )
    for name in ("lag", "lag_under_write_load"):
        lag = result.get(name, {}).get("from_201", {})
        if lag.get("count"):
            table.add_row(
                f"{name} (from 201)",
                f"{lag['count']} probes",
                str(lag["p50_ms"]),
                str(lag["p90_ms"]),
                str(lag["p99_ms"]),
                str(result[name]["errors"]),
                "",
            )
    console.print(table)


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "cpu_model": host.processor() or host.machine(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": host.python_version(),
        "system": host.platform(),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--bus", action="append", choices=["postgres", "kafka"], help="bus to measure (repeatable; default: both)"
    )
    parser.add_argument("--seed", type=int, default=7)
    add_size_arguments(parser)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=5, help="seconds")
    parser.add_argument("--duration", type=int, default=30, help="measured seconds per endpoint")
    parser.add_argument(
        "--celebrity-followers",
        type=int,
        default=1000,
        help="the timeline's MICROBLOG_CELEBRITY_FOLLOWERS (below 5,000: the big account is merged at read time)",
    )
    parser.add_argument(
        "--no-analysis",
        dest="analyse",
        action="store_false",
        help="skip the bottleneck analysis (direct timeline, SQL alone, py-spy)",
    )
    parser.add_argument(
        "--no-replay",
        dest="replay",
        action="store_false",
        help="skip the last phase: `microblog replay timeline` over the whole log, timed",
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--add-to",
        type=Path,
        metavar="REPORT.json",
        help="measure the given buses into an earlier report of the same settings (e.g. when a "
        "run was cut short after its first bus)",
    )
    args = parser.parse_args()
    require_wrk()
    report.load_plotting()  # now, not at the end: a venv changed under a long run must not lose the plot
    earlier = json.loads(args.add_to.read_text()) if args.add_to else None
    stamp = earlier["started_at"] if earlier else datetime.now().strftime("%Y%m%d-%H%M%S")
    args.stamp = stamp
    data = generate(shape_of(args), args.seed)
    out: dict = {
        "started_at": stamp,
        "machine": machine(),
        "load_tool": "wrk 4.1 (1 thread, closed loop)",
        "lag_tool": "Python httpx probe, one at a time",
        "settings": {
            k: getattr(args, k)
            for k in ("seed", "size", "scale", "clients", "warmup", "duration", "celebrity_followers")
        },
        "dataset": data.summary(),
        "monolith": report.MONOLITH,
        "targets": report.TARGETS,
        "buses": {},
    }
    if earlier:
        if earlier["settings"] != out["settings"]:
            parser.error(f"{args.add_to} was measured with other settings: {earlier['settings']}")
        out["buses"] = earlier["buses"]
    json_path, png_path = args.results / f"{stamp}.json", args.results / f"{stamp}.png"
    with tempfile.TemporaryDirectory(prefix="microblog-bench-") as workdir:
        for bus in args.bus or ["postgres", "kafka"]:
            result = await run_bus(bus, data, args, Path(workdir))
            result["verdicts"] = report.verdicts(bus, result)
            out["buses"][bus] = result
            report.write_json(json_path, out)
            report.plot(png_path, out)
        await search_phase(out, data, args, Path(workdir), json_path)  # GET /api/search per adapter
    console.print(f"report: {json_path}\nplot:   {png_path}")


if __name__ == "__main__":
    asyncio.run(main())
