"""Every projection at both dataset sizes: seeding, catch-up and replay, so the cost per event is seen to stay flat.

    uv run --group bench python -m bench.sizes                        # postgres bus, 100k and 1m posts
    uv run --group bench python -m bench.sizes --bus kafka --projection timeline
    uv run --group bench python -m bench.sizes --scale 0.05           # a quick look at both sizes, shrunk

Each (projection, size) runs `python -m bench.replay_only` in a process of its own, so its peak
memory is that projection's alone (the dataset generator's lists are dropped before the
projector starts). The sizes are `dataset.SIZES`: 10,000 users, ~200,000 follows and 100,000
posts, and 100,000 users, ~2,000,000 follows and 1,000,000 posts with a celebrity of 50,000
followers. Writes `bench/results/sizes-<stamp>.json` and `.png`: records/s and CPU per 1,000
records of catch-up and replay, and peak memory, per projection at each size, with the
machine's load average at the end of each run (on a shared machine, CPU per record is the
figure to compare; wall time follows the neighbours).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.dataset import SIZES
from bench.report import load_plotting

RESULTS = Path(__file__).parent / "results"
PROJECTIONS = ["timeline", "notifier", "search-indexer"]
PHASES = ["catch_up", "replay"]


def run_one(projection: str, size: str, args: argparse.Namespace, console: Console) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [sys.executable, "-m", "bench.replay_only", "--projection", projection, "--size", size]
        command += ["--bus", args.bus, "--scale", str(args.scale), "--seed", str(args.seed), "--out", out.name]
        command += [] if args.catch_up else ["--no-catch-up"]
        console.rule(f"{projection} · {size} posts · {args.bus} bus")
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        return json.loads(Path(out.name).read_text())


def cpu_per_thousand(phase: dict) -> float:
    """CPU ms per 1,000 records, the projector and its servers together."""
    return round(sum(phase["cpu_ms_per_1000"].values()), 1)


def show(report: dict, console: Console) -> None:
    table = Table(title=f"projections at both sizes ({report['bus']} bus)")
    for column in ["projection", "size", "seeding r/s", "records", "phase", "r/s", "CPU ms/1k", "peak MiB", "load"]:
        table.add_column(column, justify="left" if column in ("projection", "size", "phase") else "right")
    for run in report["runs"]:
        for phase in PHASES:
            figures = run[phase]
            if figures is None:
                continue
            table.add_row(
                run["projection"],
                run["size"],
                f"{run['seeding']['records_per_second']:,}",
                f"{figures['records']:,}",
                phase.replace("_", "-"),
                f"{figures['records_per_second']:,}",
                f"{cpu_per_thousand(figures)}",
                f"{figures['memory']['peak_mib']}",
                f"{run['loadavg'][0]:.1f}",
            )
    console.print(table)


def plot(path: Path, report: dict) -> None:
    """Three panels per phase: records/s, CPU per 1,000 records and peak memory, by projection and size."""
    plt = load_plotting()
    runs = report["runs"]
    projections = list(dict.fromkeys(r["projection"] for r in runs))
    sizes = list(dict.fromkeys(r["size"] for r in runs))
    figure, axes = plt.subplots(2, 3, figsize=(15, 8))
    measures = [
        ("records/s", lambda f: f["records_per_second"]),
        ("CPU ms per 1,000 records", cpu_per_thousand),
        ("peak memory (MiB)", lambda f: f["memory"]["peak_mib"]),
    ]
    width = 0.8 / len(sizes)
    for row, phase in enumerate(PHASES):
        for column, (label, value) in enumerate(measures):
            axis = axes[row][column]
            for n, size in enumerate(sizes):
                heights = [
                    next((value(r[phase]) for r in runs if r["projection"] == p and r["size"] == size and r[phase]), 0)
                    for p in projections
                ]
                axis.bar([i + n * width for i in range(len(projections))], heights, width, label=f"{size} posts")
            axis.set_xticks([i + width * (len(sizes) - 1) / 2 for i in range(len(projections))], projections)
            axis.set_title(f"{phase.replace('_', '-')}: {label}")
            axis.legend(fontsize=8)
    figure.suptitle(f"Projections at both dataset sizes, {report['bus']} bus ({report['started_at']})")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sizes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bus", choices=["postgres", "kafka"], default="postgres")
    parser.add_argument("--projection", action="append", choices=PROJECTIONS, help="repeatable; default: all")
    parser.add_argument("--size", action="append", choices=sorted(SIZES), help="repeatable; default: both")
    parser.add_argument("--scale", type=float, default=1.0, help="factor on both sizes (quick looks)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-catch-up", dest="catch_up", action="store_false", help="replays only")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    console = Console()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    report: dict = {"started_at": stamp, "bus": args.bus, "scale": args.scale, "cpus": os.cpu_count(), "runs": []}
    json_path, png_path = args.results / f"sizes-{stamp}.json", args.results / f"sizes-{stamp}.png"
    for size in args.size or ["100k", "1m"]:
        for projection in args.projection or PROJECTIONS:
            report["runs"].append(run_one(projection, size, args, console))
            json_path.write_text(json.dumps(report, indent=2) + "\n")  # kept after each run: a long one may be cut
    show(report, console)
    plot(png_path, report)
    console.print(f"written: {json_path} and {png_path}")


if __name__ == "__main__":
    main()
