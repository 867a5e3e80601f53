"""`python -m bench.search`: `GET /api/search` through the gateway on each search adapter (issue 17).

    uv run --group bench python -m bench.search                       # both adapters, the issue's dataset
    uv run --group bench python -m bench.search --scale 0.1 --duration 10   # a quick look
    uv run --group bench python -m bench.search --before /tmp/old-code --profile   # old code vs this one

Per adapter (PostgreSQL full-text search, then a real Elasticsearch node), a fresh platform on the
postgres bus is seeded with the bench's dataset, the search indexer catches up, and wrk sends the
readers' searches (`QUERIES`, 25 per page, tokens rotating) for a warm-up then a measured run,
with the CPU each process role used and the machine's load (`uptime`) beside the figures.

`--before DIR` measures another checkout's code the same way first, in the same run, on its own
platform: every `DIR/services/*/src` and `DIR/shared/*/src` found is put first on the
platform's PYTHONPATH, so its processes import that code instead of this one's (e.g.
`git archive main services/search-indexer/src services/gateway/src | tar -x -C DIR`).
`--uncached` adds a platform per adapter with the search indexer's kept answers off
(`MICROBLOG_SEARCH_CACHE_ENTRIES=0`): every search ranks, counts and hydrates. `--profile` samples the search indexer's and the gateway's API processes with py-spy during
the measured run. `python -m bench` runs this phase too (both adapters, after the buses).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
import urllib.parse
from datetime import datetime
from pathlib import Path

from bench import analysis, report
from bench.dataset import Dataset, Shape, generate
from bench.load import Request, require_wrk, wrk
from bench.platform import Platform
from bench.seed import Seeder
from microblog_testkit.devstack import LIFTED_LIMITS
from microblog_testkit.elasticsearch import LocalElasticsearch

RESULTS = Path(__file__).with_name("results")
ADAPTERS = ("postgres", "elasticsearch")
INDEXED_TOPICS = ["identity.users", "posts.posts"]
# Words and phrases of the dataset's sentences, in its three languages; a few match nothing.
QUERIES = [
    "river",
    "lentil soup",
    "release bug",
    "history of maps",
    "coffee",
    "team feature",
    "great",
    "parque",
    "pan de centeno",
    "novela final",
    "公园",
    "Python 程序",
    "这本书",
    "zeppelin",
    "book",
]
PROFILED = ("search-indexer api", "gateway api")


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def code_path(checkout: Path | None) -> str:
    """PYTHONPATH that makes a platform run `checkout`'s packages (empty: this checkout's)."""
    if checkout is None:
        return ""
    found = sorted(str(p) for pattern in ("services/*/src", "shared/*/src") for p in checkout.glob(pattern))
    if not found:
        raise SystemExit(f"{checkout} has no services/*/src or shared/*/src folder")
    return os.pathsep.join(found)


def search_requests(tokens: dict[int, str], readers: list[int]) -> list[Request]:
    auth = [(("Authorization", f"Bearer {tokens[r]}"),) for r in readers]
    return [
        Request("GET", f"/api/search?q={urllib.parse.quote(q)}&per_page=25", auth[i % len(auth)])
        for i, q in enumerate(QUERIES * 4)
    ]


async def measure(platform: Platform, requests: list[Request], args, label: str) -> dict:
    """Warm-up, then the measured wrk run (with py-spy beside it if asked): figures, CPU per role, load."""
    from bench.__main__ import sleep_with_bar

    await sleep_with_bar(f"{label}: warm-up", args.warmup, wrk(platform.url, requests, args.warmup, args.clients))
    cpu = analysis.CpuMeter(platform)
    load_before = uptime()
    before, started = cpu.snapshot(), time.monotonic()
    work = wrk(platform.url, requests, args.duration, args.clients)
    if getattr(args, "profile", False):
        processes = platform.processes()
        pids = {role: processes[role][0].pid for role in PROFILED}
        work = asyncio.gather(work, analysis.profile(pids, args.duration - 1, keep=args.results / args.label))
    figures = await sleep_with_bar(f"{label}: measuring", args.duration, work)
    if isinstance(figures, list):
        figures, figures_profiles = figures
        figures["profiles"] = figures_profiles
    figures["cpu_cores"] = cpu.cores(before, cpu.snapshot(), time.monotonic() - started)
    figures["uptime_before"], figures["uptime_after"] = load_before, uptime()
    return figures


async def run_adapter(
    adapter: str,
    variant: str,
    settings: dict[str, str],
    data: Dataset,
    args,
    workdir: Path,
    elasticsearch_url: str | None,
) -> dict:
    """A fresh platform with this adapter and the variant's settings, seeded, indexed, measured."""
    from bench.__main__ import console, log_in, progress_bar

    label = f"{adapter}-{variant}"
    environment = {"MICROBLOG_SEARCH_BACKEND": adapter, "PYTHONPATH": "", **settings, **LIFTED_LIMITS}
    if elasticsearch_url:  # one node for every platform of the run: an index of its own each
        environment["MICROBLOG_ELASTICSEARCH_URL"] = elasticsearch_url
        environment["MICROBLOG_ELASTICSEARCH_INDEX"] = f"bench-{label}-{int(time.time())}"
    platform = Platform(workdir / label, "postgres", environment)
    result: dict = {"adapter": adapter, "variant": variant, "settings": settings}
    with console.status(f"[{label}] starting PostgreSQL and microblog dev…"):
        await asyncio.to_thread(platform.start)
    try:
        with progress_bar() as progress:
            result["seed_seconds"] = await Seeder(data, platform.urls, progress).run()
            result["index_catch_up_seconds"] = round(
                await platform.wait_for_projection(
                    "search-indexer", INDEXED_TOPICS, "search_indexer", len(data.usernames) + len(data.posts), progress
                ),
                1,
            )
        tokens = await log_in(platform.url, data.usernames, data.readers)
        args.label = f"{args.stamp}-search-{label}"
        result["search"] = await measure(platform, search_requests(tokens, data.readers), args, f"search {label}")
    finally:
        with console.status(f"[{label}] stopping the platform…"):
            await asyncio.to_thread(platform.stop)
            for name in environment:  # Platform.start exported them: the next platform chooses again
                os.environ.pop(name, None)
    s = result["search"]
    console.print(
        f"[{label}] {s['rps']:,.0f} req/s, p50 {s['p50_ms']} / p99 {s['p99_ms']} ms, {s['errors']} errors; "
        f"{s['uptime_before']}"
    )
    return result


def variants(before: Path | None, uncached: bool) -> dict[str, dict[str, str]]:
    """The platforms measured per adapter: the settings each runs with."""
    out = {"before": {"PYTHONPATH": code_path(before)}} if before else {}
    out["after"] = {}
    if uncached:  # this checkout's code without the search indexer's kept answers: every search ranks
        out["after-uncached"] = {"MICROBLOG_SEARCH_CACHE_ENTRIES": "0"}
    return out


async def run(
    out: dict,
    json_path: Path,
    data: Dataset,
    args,
    workdir: Path,
    adapters=ADAPTERS,
    before: Path | None = None,
    uncached: bool = False,
) -> None:
    """Every adapter, its variants one after the other, on one Elasticsearch node, into `out["search"]`
    (written to `json_path` after each: a run cut short keeps what it measured)."""
    runs = out.setdefault("search", {})
    elasticsearch = LocalElasticsearch(workdir / "elasticsearch", heap="1g") if "elasticsearch" in adapters else None
    try:
        url = await asyncio.to_thread(elasticsearch.start) if elasticsearch is not None else None
        for adapter in adapters:
            for variant, settings in variants(before, uncached).items():
                es_url = url if adapter == "elasticsearch" else None
                runs[f"{adapter}-{variant}"] = await run_adapter(
                    adapter, variant, settings, data, args, workdir, es_url
                )
                report.write_json(json_path, out)
    finally:
        if elasticsearch is not None:
            elasticsearch.stop()


async def phase(out: dict, data: Dataset, args, workdir: Path, json_path: Path) -> None:
    """`python -m bench`'s search phase: both adapters with this checkout's code, into its report."""
    args.profile = getattr(args, "profile", False)
    await run(out, json_path, data, args, workdir)


async def main() -> None:
    from bench.__main__ import console, machine

    parser = argparse.ArgumentParser(
        prog="python -m bench.search", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0, help="dataset size factor (1 = the issue's)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=5, help="seconds")
    parser.add_argument("--duration", type=int, default=20, help="measured seconds per run")
    parser.add_argument("--adapter", action="append", choices=ADAPTERS, help="search adapter (default: both)")
    parser.add_argument("--before", type=Path, metavar="DIR", help="a checkout whose code is measured first")
    parser.add_argument("--uncached", action="store_true", help="also measure with the search indexer's cache off")
    parser.add_argument("--profile", action="store_true", help="py-spy the search indexer and gateway APIs")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    require_wrk()
    args.stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    data = generate(Shape().scaled(args.scale), args.seed)
    out: dict = {
        "started_at": args.stamp,
        "machine": machine(),
        "load_tool": "wrk 4.1 (1 thread, closed loop)",
        "settings": {k: getattr(args, k) for k in ("seed", "scale", "clients", "warmup", "duration")},
        "dataset": data.summary(),
        "queries": QUERIES,
    }
    json_path = args.results / f"search-{args.stamp}.json"
    with tempfile.TemporaryDirectory(prefix="microblog-bench-") as workdir:
        await run(out, json_path, data, args, Path(workdir), args.adapter or ADAPTERS, args.before, args.uncached)
    for name, result in out["search"].items():
        s = result["search"]
        console.print(f"{name:<22} {s['rps']:>7,.0f} req/s  p50 {s['p50_ms']:>8} ms  p99 {s['p99_ms']:>8} ms")
    console.print(f"report: {json_path}")


if __name__ == "__main__":
    asyncio.run(main())
