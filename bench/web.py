"""The web pages (issue 17): home, explore, a profile and search as logged-in readers, through the web UI.

Part of `python -m bench` (after the API endpoints), and on its own:

    uv run --group bench python -m bench.web --scale 0.1 --duration 10          # the stack's web
    uv run --group bench python -m bench.web --scale 0.1 --baseline /tmp/web-main/src --rounds 3

Each reader signs in through the web's own login form (GET /auth/login for the session's CSRF
token, POST the form), then loads its home page once, as a browser does, so the session cookie
wrk sends is the one the web keeps sending back unchanged. wrk rotates the 50 readers' cookies
over the page's requests (bench/wrk/rotate.lua), at 1, 32 and 64 connections.

`--baseline SRC` starts a second web process from another checkout's `services/web/src` (e.g.
`git archive main services/web/src | tar -x -C /tmp/web-main`), with the stack web's own
environment, against the same gateway, and measures both in alternating rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import httpx
import psutil
from rich.console import Console
from rich.table import Table

from bench.dataset import PASSWORD, Dataset, add_size_arguments, generate, shape_of
from bench.load import Request, wrk
from bench.platform import Platform
from microblog_testkit.devstack import LIFTED_LIMITS

PAGES = ("home", "explore", "profile", "search")
CONNECTIONS = (1, 32, 64)
# Words of the dataset's sentences (bench.features.QUERIES has the API's list).
SEARCHES = ["river", "lentil soup", "coffee", "great", "parque", "novela final", "公园", "这本书", "book", "zeppelin"]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
Bar = Callable[[str, float, Awaitable], Awaitable]


async def sign_in(web_url: str, usernames: dict[int, str], readers: list[int]) -> dict[int, str]:
    """Each reader's Cookie header after signing in through the login form and loading /index once."""
    cookies = {}
    for reader in readers:
        async with httpx.AsyncClient(base_url=web_url, timeout=30.0) as client:
            form = await client.get("/auth/login")
            match = CSRF.search(form.text)
            assert match, f"no CSRF token on the login page ({form.status_code})"
            answer = await client.post(
                "/auth/login",
                data={"username": usernames[reader], "password": PASSWORD, "csrf_token": match.group(1)},
            )
            assert answer.status_code == 303, f"signing in {usernames[reader]}: {answer.status_code}"
            home = await client.get("/index")
            home.raise_for_status()
            cookies[reader] = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    return cookies


def plan(data: Dataset, cookies: dict[int, str], seed: int) -> dict[str, list[Request]]:
    """What each page's clients ask for: the readers' cookies rotate; profiles of random posting users."""
    rng = random.Random(seed)
    readers = [(("Cookie", cookies[r]),) for r in data.readers]
    authors = sorted({author for author, _, _ in data.posts})
    people = [data.usernames[rng.choice(authors)] for _ in range(500)]
    return {
        "home": [Request("GET", "/index", auth) for auth in readers],
        "explore": [Request("GET", "/explore", auth) for auth in readers],
        "profile": [Request("GET", f"/user/{name}", readers[i % len(readers)]) for i, name in enumerate(people)],
        "search": [
            Request("GET", f"/search?q={urllib.parse.quote(q)}", readers[i % len(readers)])
            for i, q in enumerate(SEARCHES * 5)
        ],
    }


def listener(url: str) -> psutil.Process | None:
    """The process listening on `url`'s port (to read its CPU time), if this user may see it."""
    port = urllib.parse.urlsplit(url).port
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        return None
    pids = {c.pid for c in connections if c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.pid}
    return psutil.Process(pids.pop()) if len(pids) == 1 else None


def cpu_seconds(process: psutil.Process | None) -> float:
    """CPU time of a process and its children (workers), 0 when unknown."""
    total = 0.0
    for each in [process, *process.children(recursive=True)] if process else []:
        try:
            times = each.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


async def settle(process: psutil.Process | None, quiet: float = 0.02, limit: float = 15.0) -> None:
    """Wait until the web has finished the requests wrk left behind (uvicorn finishes a page whose
    client has gone): otherwise the next run's figures would include the last run's backlog."""
    started, used = time.monotonic(), cpu_seconds(process)
    while process is not None and time.monotonic() - started < limit:
        await asyncio.sleep(0.25)
        now = cpu_seconds(process)
        if now - used < quiet:
            return
        used = now


async def measure(web_url: str, data: Dataset, args, bar: Bar, cookies: dict[int, str] | None = None) -> dict:
    """{page: {connections: wrk figures, the web process's CPU per request, load average}} for the web at `web_url`.

    The CPU the web spends per page is the figure to compare on a shared machine: requests/s and
    latency also depend on what else is running.
    """
    cookies = cookies or await sign_in(web_url, data.usernames, data.readers)
    process = listener(web_url)
    out: dict = {}
    for page, requests in plan(data, cookies, args.seed).items():
        for connections in CONNECTIONS:
            await bar(
                f"web {page} x{connections}: warm-up", args.warmup, wrk(web_url, requests, args.warmup, connections)
            )
            await settle(process)
            before = cpu_seconds(process)
            figures = await bar(
                f"web {page} x{connections}: measuring",
                args.duration,
                wrk(web_url, requests, args.duration, connections),
            )
            if process is not None:
                used = cpu_seconds(process) - before
                figures["web_cpu_ms_per_request"] = round(1000 * used / max(1, figures["requests"]), 2)
                figures["web_cores"] = round(used / figures["seconds"], 2)
            figures["load_average_1m"] = round(os.getloadavg()[0], 2)
            out.setdefault(page, {})[str(connections)] = figures
            await settle(process)
    return out


def table(title: str, results: dict[str, dict]) -> Table:
    """One row per page and connection count, one column group per measured web."""
    shown = Table(title=title)
    shown.add_column("page")
    shown.add_column("conns", justify="right")
    for name in results:
        for column in ("req/s", "p50", "p99", "cpu ms"):
            shown.add_column(f"{name} {column}", justify="right")
    first = next(iter(results.values()))
    for page in first:
        for connections in first[page]:
            row = [page, connections]
            for figures in results.values():
                f = figures[page][connections]
                row += [
                    f"{f['rps']:,.0f}",
                    f"{f['p50_ms']}",
                    f"{f['p99_ms']}",
                    str(f.get("web_cpu_ms_per_request", "–")),
                ]
            shown.add_row(*row)
    return shown


def plot(path: Path, report: dict) -> None:
    """Requests/s and the web's CPU per page, for each page and connection count, per measured web.

    Bars are the mean over the rounds, whiskers their range: compare the webs only beside each other.
    """
    from bench.report import load_plotting

    plt = load_plotting()
    rounds = report["rounds"]
    webs = list(rounds[0])
    cases = [(page, conns) for page in rounds[0][webs[0]] for conns in rounds[0][webs[0]][page]]
    figure, axes = plt.subplots(2, 1, figsize=(13, 8))
    width = 0.8 / len(webs)
    for axis, key, label in ((axes[0], "rps", "req/s"), (axes[1], "web_cpu_ms_per_request", "web CPU ms/page")):
        for index, web in enumerate(webs):
            values = [[r[web][page][conns].get(key, 0) for r in rounds] for page, conns in cases]
            means = [sum(v) / len(v) for v in values]
            low = [m - min(v) for m, v in zip(means, values, strict=True)]
            high = [max(v) - m for m, v in zip(means, values, strict=True)]
            xs = [i + (index - (len(webs) - 1) / 2) * width for i in range(len(cases))]
            bars = axis.bar(xs, means, width, yerr=[low, high], capsize=2, label=web)
            axis.bar_label(bars, [f"{m:.0f}" if key == "rps" else f"{m:.1f}" for m in means], fontsize=7)
        axis.set_xticks(range(len(cases)), [f"{page}\nx{conns}" for page, conns in cases], fontsize=8)
        axis.set_ylabel(label)
        axis.grid(axis="y", alpha=0.3)
        axis.legend(fontsize=8)
    loads = [f["load_average_1m"] for r in rounds for w in r.values() for p in w.values() for f in p.values()]
    axes[0].set_title(
        f"web pages, {report['dataset'].get('posts', 0):,} posts, {len(rounds)} rounds; "
        f"1-minute load average {min(loads):.1f}-{max(loads):.1f} on {report['machine']['cpus']} cores",
        fontsize=10,
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def start_baseline(platform: Platform, source: Path) -> tuple[subprocess.Popen, str]:
    """A second web process from `source`, configured as `microblog dev` configures the stack's web."""
    from microblog_dev.embedded_postgres import free_port

    port, data_dir = free_port(), platform.stack.data_dir
    environment = {
        **os.environ,
        "PYTHONPATH": str(source),  # before the installed `web` package
        "MICROBLOG_ENVIRONMENT": "development",
        "MICROBLOG_NOTIFICATION_POLL_SECONDS": "1",
        "MICROBLOG_GATEWAY_URL": platform.url,
        "MICROBLOG_TRUSTED_PROXY_SECRET": (data_dir / "proxy-secret").read_text().strip(),
        "MICROBLOG_WEB_SECRET_KEY": (data_dir / "web-secret").read_text().strip(),
    }
    log = tempfile.NamedTemporaryFile(prefix="bench-baseline-web-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "web", "api", "--port", str(port)], env=environment, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"the baseline web did not start (its output: {log.name})")


def side_by_side_args(parser: argparse.ArgumentParser, warmup: int, duration: int, baseline: str) -> None:
    """The options the side-by-side benchmarks (web pages, API reads) share."""
    parser.add_argument("--seed", type=int, default=7)
    add_size_arguments(parser)
    parser.add_argument("--warmup", type=int, default=warmup, help="seconds")
    parser.add_argument("--duration", type=int, default=duration, help="measured seconds per run")
    parser.add_argument("--celebrity-followers", type=int, default=1000)
    parser.add_argument("--baseline", type=Path, help=baseline)
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds (with --baseline)")
    parser.add_argument("--results", type=Path, default=Path(__file__).with_name("results"))


def side_by_side_report(args: argparse.Namespace) -> tuple[Dataset, dict, dict]:
    """The dataset, the report's head and the platform's environment of a side-by-side run."""
    from bench.__main__ import machine

    data = generate(shape_of(args), args.seed)
    out: dict = {
        "started_at": datetime.now().strftime("%Y%m%d-%H%M%S"),
        "machine": machine(),
        "settings": {
            k: getattr(args, k) for k in ("seed", "size", "scale", "warmup", "duration", "celebrity_followers")
        },
        "baseline": str(args.baseline) if args.baseline else None,
        "dataset": data.summary(),
        "rounds": [],
    }
    environment = {"MICROBLOG_CELEBRITY_FOLLOWERS": str(args.celebrity_followers), **LIFTED_LIMITS}
    return data, out, environment


async def main() -> None:
    from bench import report
    from bench.__main__ import progress_bar, sleep_with_bar
    from bench.load import require_wrk
    from bench.seed import Seeder

    parser = argparse.ArgumentParser(
        prog="python -m bench.web", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    side_by_side_args(parser, warmup=5, duration=20, baseline="another checkout's services/web/src, measured alongside")
    args = parser.parse_args()
    require_wrk()
    console = Console(highlight=False)
    data, out, environment = side_by_side_report(args)
    stamp = out["started_at"]
    with tempfile.TemporaryDirectory(prefix="microblog-bench-") as workdir:
        platform = Platform(Path(workdir) / "postgres", "postgres", environment)
        with console.status("starting the platform…"):
            await asyncio.to_thread(platform.start)
        baseline = None
        try:
            with progress_bar() as progress:
                await Seeder(data, platform.urls, progress).run()
                expected = len(data.usernames) + len(data.follows) + len(data.posts)
                await platform.wait_for_timeline(expected, progress)
            webs = {"this": platform.stack.web_url}
            if args.baseline:
                baseline, webs["baseline"] = await asyncio.to_thread(start_baseline, platform, args.baseline)
            cookies = {name: await sign_in(url, data.usernames, data.readers) for name, url in webs.items()}
            for number in range(args.rounds):
                order = list(webs) if number % 2 == 0 else list(reversed(webs))
                measured = {}
                for name in order:
                    measured[name] = await measure(webs[name], data, args, sleep_with_bar, cookies[name])
                out["rounds"].append({name: measured[name] for name in webs})
                console.print(table(f"round {number + 1}", out["rounds"][-1]))
                report.write_json(args.results / f"web-{stamp}.json", out)
            plot(args.results / f"web-{stamp}.png", out)
        finally:
            if baseline is not None:
                baseline.terminate()
                baseline.wait(10)
            with console.status("stopping the platform…"):
                await asyncio.to_thread(platform.stop)
    console.print(f"report: {args.results / f'web-{stamp}.json'}")


if __name__ == "__main__":
    asyncio.run(main())
