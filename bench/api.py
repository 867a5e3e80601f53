"""The API reads (issue 17): a user, the home timeline, a user's posts and explore, through the gateway.

    uv run --group bench python -m bench.api --scale 0.1 --duration 10
    uv run --group bench python -m bench.api --scale 0.1 --baseline /tmp/api-main --rounds 2

`--baseline SRC` is another checkout's tree holding services/timeline/src, services/gateway/src and
shared/kit/src (e.g. `git archive main services/timeline/src services/gateway/src shared/kit/src |
tar -x -C /tmp/api-main`): a second timeline API and a second gateway start from it, with the stack's
own environment (stack.json), the second gateway calling the second timeline API and the stack's other
services. Both pairs read the same database; they are measured in alternating rounds. Besides wrk's
figures, each run records the CPU the gateway and the timeline API spent per request and the machine's
load average (the machine is shared: compare CPU per request first). `--profile` also samples this
stack's gateway and timeline API with py-spy under the home load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from rich.console import Console
from rich.table import Table

from bench.dataset import Dataset
from bench.load import Request, wrk
from bench.platform import Platform
from bench.web import cpu_seconds, settle, side_by_side_args, side_by_side_report

# (endpoint, connections): the table, the home API also at 64 connections.
RUNS = (("user", 32), ("home", 32), ("home", 64), ("user_posts", 32), ("explore", 32))
ROLES = ("gateway", "timeline")


def plan(data: Dataset, tokens: dict[int, str], seed: int) -> dict[str, list[Request]]:
    """What each endpoint's clients send: the readers' tokens rotate, users are drawn at random."""
    rng = random.Random(seed)
    readers = [(("Authorization", f"Bearer {tokens[r]}"),) for r in data.readers]
    users = [rng.randint(1, len(data.usernames)) for _ in range(2000)]
    return {
        "user": [Request("GET", f"/api/users/{u}", readers[i % len(readers)]) for i, u in enumerate(users)],
        "home": [Request("GET", "/api/timeline?per_page=25", auth) for auth in readers],
        "user_posts": [
            Request("GET", f"/api/users/{u}/posts?per_page=25", readers[i % len(readers)]) for i, u in enumerate(users)
        ],
        "explore": [Request("GET", "/api/explore?per_page=25", auth) for auth in readers],
    }


class Pair:
    """A gateway and the timeline API behind it, with their processes (for CPU per request)."""

    def __init__(self, url: str, gateway: psutil.Process, timeline: psutil.Process) -> None:
        self.url, self.processes = url, {"gateway": gateway, "timeline": timeline}

    def cpu(self) -> dict[str, float]:
        return {role: cpu_seconds(process) for role, process in self.processes.items()}


async def measure(pair: Pair, requests: dict[str, list[Request]], args, bar) -> dict:
    out: dict = {}
    for endpoint, connections in RUNS:
        label = f"{endpoint} x{connections}"
        await bar(f"{label}: warm-up", args.warmup, wrk(pair.url, requests[endpoint], args.warmup, connections))
        await settle(pair.processes["timeline"])
        before = pair.cpu()
        figures = await bar(
            f"{label}: measuring", args.duration, wrk(pair.url, requests[endpoint], args.duration, connections)
        )
        after = pair.cpu()
        for role in ROLES:
            used = after[role] - before[role]
            figures[f"{role}_cpu_ms_per_request"] = round(1000 * used / max(1, figures["requests"]), 3)
            figures[f"{role}_cores"] = round(used / figures["seconds"], 2)
        figures["load_average_1m"] = round(os.getloadavg()[0], 2)
        out[label] = figures
    return out


def _start(argv: list[str], environment: dict[str, str], name: str) -> tuple[subprocess.Popen, str]:
    from microblog_dev.embedded_postgres import free_port

    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix=f"bench-baseline-{name}-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", *argv, "--host", "127.0.0.1", "--port", str(port)],
        env=environment,
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"the baseline {name} did not start (its output: {log.name})")


def start_baseline(platform: Platform, source: Path) -> tuple[list[subprocess.Popen], Pair]:
    """The baseline's timeline API and gateway, with the environment `microblog dev` gave the stack's."""
    stack = json.loads((platform.stack.data_dir / "stack.json").read_text())
    env = {p["name"]: p["env"] for p in stack["processes"]}
    kit = source / "shared/kit/src"
    timeline, timeline_url = _start(
        ["timeline", "api"],
        {**os.environ, **env["timeline-api"], "PYTHONPATH": f"{source / 'services/timeline/src'}:{kit}"},
        "timeline",
    )
    gateway, gateway_url = _start(
        ["gateway", "api"],
        {
            **os.environ,
            **env["gateway-api"],
            "MICROBLOG_TIMELINE_URL": timeline_url,
            "PYTHONPATH": f"{source / 'services/gateway/src'}:{kit}",
        },
        "gateway",
    )
    return [gateway, timeline], Pair(gateway_url, psutil.Process(gateway.pid), psutil.Process(timeline.pid))


def table(title: str, results: dict[str, dict]) -> Table:
    shown = Table(title=title)
    shown.add_column("run")
    for name in results:
        for column in ("req/s", "p50", "p99", "gw ms", "tl ms", "load"):
            shown.add_column(f"{name} {column}", justify="right")
    for run in next(iter(results.values())):
        row = [run]
        for figures in results.values():
            f = figures[run]
            row += [
                f"{f['rps']:,.0f}",
                str(f["p50_ms"]),
                str(f["p99_ms"]),
                str(f["gateway_cpu_ms_per_request"]),
                str(f["timeline_cpu_ms_per_request"]),
                str(f["load_average_1m"]),
            ]
        shown.add_row(*row)
    return shown


def plot(path: Path, out: dict) -> None:
    """Requests/s and p99 per run, one bar per measured pair and round."""
    from bench.report import load_plotting

    plt = load_plotting()
    runs = [f"{e} x{c}" for e, c in RUNS]
    figure, (rps, p99) = plt.subplots(1, 2, figsize=(13, 4.5))
    bars = [(f"{name} r{n + 1}", figures) for n, rnd in enumerate(out["rounds"]) for name, figures in rnd.items()]
    width = 0.8 / max(1, len(bars))
    for i, (label, figures) in enumerate(bars):
        xs = [x + i * width for x in range(len(runs))]
        rps.bar(xs, [figures[r]["rps"] for r in runs], width, label=label)
        p99.bar(xs, [figures[r]["p99_ms"] for r in runs], width, label=label)
    for axis, title in ((rps, "requests/s (higher is better)"), (p99, "p99 ms (lower is better)")):
        axis.set_xticks([x + 0.4 - width / 2 for x in range(len(runs))], runs, rotation=20)
        axis.set_title(title)
        axis.legend(fontsize=7)
    figure.suptitle(f"API reads through the gateway, scale {out['settings']['scale']} ({out['started_at']})")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


async def main() -> None:
    from bench import analysis, report
    from bench.__main__ import log_in, progress_bar, sleep_with_bar
    from bench.load import require_wrk
    from bench.seed import Seeder

    parser = argparse.ArgumentParser(
        prog="python -m bench.api", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    side_by_side_args(parser, warmup=3, duration=10, baseline="a tree with the old timeline, gateway and kit sources")
    parser.add_argument("--profile", action="store_true", help="py-spy on this stack's gateway and timeline API")
    args = parser.parse_args()
    require_wrk()
    console = Console(highlight=False)
    data, out, environment = side_by_side_report(args)
    stamp = out["started_at"]
    with tempfile.TemporaryDirectory(prefix="microblog-bench-") as workdir:
        platform = Platform(Path(workdir) / "postgres", "postgres", environment)
        with console.status("starting the platform…"):
            await asyncio.to_thread(platform.start)
        started: list[subprocess.Popen] = []
        try:
            with progress_bar() as progress:
                await Seeder(data, platform.urls, progress).run()
                expected = len(data.usernames) + len(data.follows) + len(data.posts)
                await platform.wait_for_timeline(expected, progress)
            roles = platform.processes()
            pairs = {"this": Pair(platform.url, roles["gateway api"][0], roles["timeline api"][0])}
            if args.baseline:
                started, pairs["baseline"] = await asyncio.to_thread(start_baseline, platform, args.baseline)
            tokens = await log_in(platform.url, data.usernames, data.readers)
            requests = plan(data, tokens, args.seed)
            for number in range(args.rounds):
                order = list(pairs) if number % 2 == 0 else list(reversed(pairs))
                measured = {name: await measure(pairs[name], requests, args, sleep_with_bar) for name in order}
                out["rounds"].append({name: measured[name] for name in pairs})
                console.print(table(f"round {number + 1}", out["rounds"][-1]))
                report.write_json(args.results / f"api-{stamp}.json", out)
            if args.profile:
                seconds = max(5, args.duration)
                pids = {f"{role} api": pairs["this"].processes[role].pid for role in ROLES}
                _, out["profiles"] = await sleep_with_bar(
                    "home + py-spy: profiling",
                    seconds,
                    asyncio.gather(
                        wrk(platform.url, requests["home"], seconds, 32),
                        analysis.profile(pids, seconds - 1, keep=args.results / f"api-{stamp}"),
                    ),
                )
            report.write_json(args.results / f"api-{stamp}.json", out)
            plot(args.results / f"api-{stamp}.png", out)
        finally:
            for process in started:
                process.terminate()
                process.wait(10)
            with console.status("stopping the platform…"):
                await asyncio.to_thread(platform.stop)
    console.print(f"report: {args.results / f'api-{stamp}.json'}")


if __name__ == "__main__":
    asyncio.run(main())
