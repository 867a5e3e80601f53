"""`python -m bench.features`: search, unread badges and exports (issue 9), on the postgres bus.

    uv run --group bench python -m bench.features                         # the issue's 100k-post dataset
    uv run --group bench python -m bench.features --scale 0.05 --duration 5   # a quick look

The same dataset is seeded into two fresh platforms, one per search adapter (PostgreSQL full-text
search, then a real Elasticsearch node), and each is measured the same way, one after the other
in one run: how long the indexer takes to catch up with the seeded log, then search queries/s and
latency through the gateway under wrk. The first platform also measures the message → unread
badge lag and the export of an account with 10,000 posts (time to complete, to the mail, and the
exporter's and mailer's memory).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import datetime
from pathlib import Path

from rich.table import Table

from bench import report
from bench.__main__ import console, log_in, machine, progress_bar, sleep_with_bar
from bench.dataset import Shape, generate
from bench.load import require_wrk, wrk
from bench.platform import Platform
from bench.probes import badge_lag, export_account
from bench.search import ADAPTERS, INDEXED_TOPICS, QUERIES, search_requests
from bench.seed import Seeder
from microblog_testkit.devstack import LIFTED_LIMITS
from microblog_testkit.elasticsearch import LocalElasticsearch

RESULTS = Path(__file__).with_name("results")


async def run_adapter(adapter: str, data, args, workdir: Path, elasticsearch_url: str | None) -> dict:
    environment = {"MICROBLOG_SEARCH_BACKEND": adapter, **LIFTED_LIMITS}
    if elasticsearch_url:
        environment["MICROBLOG_ELASTICSEARCH_URL"] = elasticsearch_url
        environment["MICROBLOG_ELASTICSEARCH_INDEX"] = f"bench-{int(time.time())}"
    platform = Platform(workdir / adapter, "postgres", environment)
    result: dict = {"adapter": adapter}
    with console.status(f"[{adapter}] starting PostgreSQL and microblog dev…"):
        await asyncio.to_thread(platform.start)
    try:
        with progress_bar() as progress:
            result["seed_seconds"] = await Seeder(data, platform.urls, progress).run()
            started = time.monotonic()
            result["index_catch_up_seconds"] = round(
                await platform.wait_for_projection(
                    "search-indexer", INDEXED_TOPICS, "search_indexer", len(data.usernames) + len(data.posts), progress
                ),
                1,
            )
        console.print(
            f"[{adapter}] {len(data.posts):,} posts indexed {result['index_catch_up_seconds']} s "
            f"after seeding ({len(data.posts) / max(0.1, time.monotonic() - started):,.0f} posts/s)"
        )
        tokens = await log_in(platform.url, data.usernames, data.readers)
        requests = search_requests(tokens, data.readers)
        await sleep_with_bar(
            f"search {adapter}: warm-up", args.warmup, wrk(platform.url, requests, args.warmup, args.clients)
        )
        result["search"] = await sleep_with_bar(
            f"search {adapter}: measuring", args.duration, wrk(platform.url, requests, args.duration, args.clients)
        )
        if adapter == ADAPTERS[0]:
            pairs = [(tokens[a], tokens[b], b) for a, b in zip(data.readers[::2], data.readers[1::2])]
            result["badge_lag"] = await sleep_with_bar(
                "message → badge: probing", args.duration, badge_lag(platform.url, pairs, args.duration)
            )
            with progress_bar() as progress:
                result["export"] = await export_account(platform, data, args.export_posts, progress)
    finally:
        with console.status(f"[{adapter}] stopping the platform…"):
            await asyncio.to_thread(platform.stop)
    return result


def show(out: dict) -> None:
    table = Table(title="search through the gateway (postgres bus)")
    for column in ("adapter", "indexed after seeding", "req/s", "p50 ms", "p90 ms", "p99 ms", "errors"):
        table.add_column(column, justify="left" if column == "adapter" else "right")
    for adapter, result in out["adapters"].items():
        s = result["search"]
        table.add_row(
            adapter,
            f"{result['index_catch_up_seconds']} s",
            f"{s['rps']:,.0f}",
            str(s["p50_ms"]),
            str(s["p90_ms"]),
            str(s["p99_ms"]),
            str(s["errors"]),
        )
    console.print(table)
    first = out["adapters"].get(ADAPTERS[0], {})
    if "badge_lag" in first:
        lag = first["badge_lag"]
        console.print(
            f"message → unread badge: p50 {lag['raised']['p50_ms']} ms, p99 {lag['raised']['p99_ms']} ms; "
            f"read → badge cleared: p50 {lag['cleared']['p50_ms']} ms, p99 {lag['cleared']['p99_ms']} ms"
        )
    if "export" in first:
        e = first["export"]
        console.print(
            f"export of {e['posts']:,} posts: complete after {e['complete_seconds']} s, mail after "
            f"{e['mail_seconds']} s; exporter peak RSS {e['exporter_peak_rss_mb']} MB "
            f"(+{e['exporter_rss_growth_mb']} MB), mailer peak RSS {e['mailer_peak_rss_mb']} MB"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.features", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0, help="dataset size factor (1 = the issue's)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=5, help="seconds")
    parser.add_argument("--duration", type=int, default=20, help="measured seconds per phase")
    parser.add_argument("--export-posts", type=int, default=10_000, help="posts of the exported account")
    parser.add_argument("--adapter", action="append", choices=ADAPTERS, help="search adapter (default: both)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    require_wrk()
    report.load_plotting()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    data = generate(Shape().scaled(args.scale), args.seed)
    out: dict = {
        "started_at": stamp,
        "machine": machine(),
        "load_tool": "wrk 4.1 (1 thread, closed loop)",
        "settings": {k: getattr(args, k) for k in ("seed", "scale", "clients", "warmup", "duration", "export_posts")},
        "dataset": data.summary(),
        "queries": QUERIES,
        "adapters": {},
    }
    json_path, png_path = args.results / f"features-{stamp}.json", args.results / f"features-{stamp}.png"
    adapters = args.adapter or list(ADAPTERS)
    with tempfile.TemporaryDirectory(prefix="microblog-bench-") as workdir:
        elasticsearch = (
            LocalElasticsearch(Path(workdir) / "elasticsearch", heap="1g") if "elasticsearch" in adapters else None
        )
        try:
            url = None
            if elasticsearch is not None:
                with console.status("starting a real Elasticsearch node…"):
                    url = await asyncio.to_thread(elasticsearch.start)
            for adapter in adapters:
                out["adapters"][adapter] = await run_adapter(
                    adapter, data, args, Path(workdir), url if adapter == "elasticsearch" else None
                )
                report.write_json(json_path, out)
                report.plot_features(png_path, out)
        finally:
            if elasticsearch is not None:
                elasticsearch.stop()
    show(out)
    console.print(f"report: {json_path}\nplot:   {png_path}")


if __name__ == "__main__":
    asyncio.run(main())
