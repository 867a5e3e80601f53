"""The benchmark's outputs: a JSON report and a PNG comparing buses, the monolith and the targets."""

from __future__ import annotations

import json
from pathlib import Path

# The original monolith on this machine kind, same dataset and load (issue 7).
MONOLITH = {"home": {"rps": 29, "p99_ms": 1500}, "explore": {"rps": 98}, "user": {"rps": 230}}
TARGETS = {"home": {"rps": 1000, "p99_ms": 30}, "lag": {"p99_ms": 100, "bus": "postgres"}}
ENDPOINTS = {
    "home": "GET /api/timeline",
    "explore": "GET /api/explore",
    "user_posts": "GET /api/users/{id}/posts",
    "user": "GET /api/users/{id}",
    "create_post": "POST /api/posts",
}


def verdicts(bus: str, result: dict) -> dict:
    """Ratios to the monolith and whether each target is met, for one bus."""
    out = {}
    for name, figures in MONOLITH.items():
        ours = result["endpoints"].get(name)
        if ours:
            out[f"{name}_rps_vs_monolith"] = round(ours["rps"] / figures["rps"], 1)
            if "p99_ms" in figures and ours["p99_ms"]:
                out[f"{name}_p99_vs_monolith"] = round(figures["p99_ms"] / ours["p99_ms"], 1)
    home = result["endpoints"].get("home")
    if home:
        out["home_target_met"] = home["p99_ms"] <= TARGETS["home"]["p99_ms"] and home["rps"] >= TARGETS["home"]["rps"]
    lag = result.get("lag", {}).get("from_201", {})
    if lag.get("count"):
        out["lag_p99_target_met"] = lag["p99_ms"] <= TARGETS["lag"]["p99_ms"]
        if bus != TARGETS["lag"]["bus"]:
            out["lag_target_applies"] = False
    return out


def _shared_machine_note(report: dict) -> str:
    """How much of the machine other people's processes took while we measured (it is shared)."""
    notes = []
    for bus, result in report["buses"].items():
        others = [
            e["cpu_cores"]["other processes on the machine"]
            for e in result["endpoints"].values()
            if "other processes on the machine" in e.get("cpu_cores", {})
        ]
        notes.append(f"{bus}: {sum(others) / len(others):.2f}" if others else f"{bus}: not measured")
    cpus = report["machine"]["cpus"]
    return f"cores of the {cpus} taken by other processes on this shared machine while measuring: " + ", ".join(notes)


def write_json(path: Path, report: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")


def load_plotting():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot(path: Path, report: dict) -> None:
    """Two panels: requests/s and p99 per endpoint and bus, with the monolith and the targets."""
    plt = load_plotting()

    buses = list(report["buses"])
    names = list(ENDPOINTS) + ["lag"]
    labels = [ENDPOINTS.get(n, "post → follower\ntimeline lag").replace(" /api", "\n/api") for n in names]
    width = 0.8 / max(1, len(buses))
    figure, (rps_axis, p99_axis) = plt.subplots(2, 1, figsize=(12, 10))
    colours = {"postgres": "#336699", "kafka": "#cc6633"}
    for index, bus in enumerate(buses):
        result = report["buses"][bus]
        xs = [i + (index - (len(buses) - 1) / 2) * width for i in range(len(names))]
        rps = [result["endpoints"].get(n, {}).get("rps", 0) for n in names[:-1]] + [0]
        p99 = [result["endpoints"].get(n, {}).get("p99_ms", 0) for n in names[:-1]]
        p99.append(result.get("lag", {}).get("from_201", {}).get("p99_ms", 0))
        for axis, values in ((rps_axis, rps), (p99_axis, p99)):
            bars = axis.bar(xs, values, width, label=f"{bus} bus", color=colours.get(bus))
            for bar, name, value in zip(bars, names, values):
                if not value:
                    continue
                note = f"{value:,.0f}" if value >= 10 else f"{value:.1f}"
                monolith = MONOLITH.get(name, {})
                if axis is rps_axis and "rps" in monolith:
                    note += f"\n×{value / monolith['rps']:.1f}"
                if axis is p99_axis and "p99_ms" in monolith:
                    note += f"\n÷{monolith['p99_ms'] / value:.1f}"
                axis.annotate(note, (bar.get_x() + bar.get_width() / 2, value), ha="center", va="bottom", fontsize=7)
    for i, name in enumerate(names):
        monolith = MONOLITH.get(name, {})
        for axis, key in ((rps_axis, "rps"), (p99_axis, "p99_ms")):
            if key in monolith:
                axis.hlines(
                    monolith[key],
                    i - 0.45,
                    i + 0.45,
                    colors="black",
                    linewidth=2,
                    label="original monolith" if name == "home" else None,
                )
            target = TARGETS.get(name, {}).get(key)
            if target:
                axis.hlines(
                    target,
                    i - 0.45,
                    i + 0.45,
                    colors="red",
                    linestyles="dashed",
                    label="target" if (axis is p99_axis and name == "home") or axis is rps_axis else None,
                )
    rps_axis.set_ylabel("requests/s (log)")
    p99_axis.set_ylabel("p99 latency, ms (log)")
    settings = report["settings"]
    rps_axis.set_title(
        f"microblog through the gateway: {settings['clients']} clients, {settings['duration']} s "
        f"measured, {report['load_tool']}\n×N: throughput over the monolith's; "
        f"÷N: the monolith's p99 over ours\n{_shared_machine_note(report)}",
        fontsize=10,
    )
    for axis in (rps_axis, p99_axis):
        axis.set_yscale("log")
        axis.set_xticks(range(len(names)), labels, fontsize=8)
        axis.legend(fontsize=8, loc="upper right")
        axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_features(path: Path, report: dict) -> None:
    """Search per adapter (req/s, latency), the unread-badge lag and the export, side by side."""
    plt = load_plotting()

    adapters = list(report["adapters"])
    figure, (rps_axis, latency_axis, lag_axis) = plt.subplots(1, 3, figsize=(15, 5))
    colours = ["#336699", "#cc6633"]
    searches = [report["adapters"][a].get("search", {}) for a in adapters]
    throughput = [s.get("rps", 0) for s in searches]
    bars = rps_axis.bar(adapters, throughput, color=colours[: len(adapters)])
    rps_axis.bar_label(bars, [f"{v:,.0f}" for v in throughput], fontsize=8)
    rps_axis.set_ylabel("req/s")
    width = 0.38
    for index, percentile in enumerate(("p50_ms", "p99_ms")):
        xs = [i + (index - 0.5) * width for i in range(len(adapters))]
        values = [s.get(percentile, 0) for s in searches]
        bars = latency_axis.bar(xs, values, width, label=percentile.removesuffix("_ms"))
        latency_axis.bar_label(bars, [f"{v:.0f}" for v in values], fontsize=8)
    latency_axis.set_xticks(range(len(adapters)), adapters)
    latency_axis.set_ylabel("ms")
    latency_axis.legend(fontsize=8)
    rps_axis.set_title(
        f"GET /api/search: {report['settings']['clients']} clients,\n{report['dataset']['posts']:,} posts", fontsize=10
    )
    latency_axis.set_title("search latency", fontsize=10)
    first = report["adapters"].get(adapters[0], {}) if adapters else {}
    labels, values = [], []
    for name, key in (("message → badge", "raised"), ("read → badge 0", "cleared")):
        lag = first.get("badge_lag", {}).get(key, {})
        for percentile in ("p50_ms", "p99_ms"):
            labels.append(f"{name}\n{percentile.removesuffix('_ms')}")
            values.append(lag.get(percentile, 0))
    bars = lag_axis.bar(labels, values, color="#669933")
    lag_axis.bar_label(bars, [f"{v:.0f}" for v in values], fontsize=8)
    lag_axis.set_ylabel("ms")
    export = first.get("export")
    title = "unread badge lag (notifier)"
    if export:
        title += (
            f"\nexport of {export['posts']:,} posts: {export['complete_seconds']} s to 100 %, "
            f"{export['mail_seconds']} s to the mail;\nexporter peak RSS {export['exporter_peak_rss_mb']} MB, "
            f"mailer {export['mailer_peak_rss_mb']} MB"
        )
    lag_axis.set_title(title, fontsize=9)
    lag_axis.tick_params(axis="x", labelsize=7)
    for axis in (rps_axis, latency_axis, lag_axis):
        axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


if __name__ == "__main__":  # re-draw a plot from its report: python -m bench.report bench/results/X.json
    import sys

    source = Path(sys.argv[1])
    loaded = json.loads(source.read_text())
    (plot_features if "adapters" in loaded else plot)(source.with_suffix(".png"), loaded)
