"""`microblog replay`: rebuild read models with a progress bar, against any running platform."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from microblog_ops.stackfile import find, process_name
from microblog_shared.read.projection import ProjectionSpec
from microblog_shared.read.replay import Replay, ReplayResult, projection_specs


class RateAndLag(ProgressColumn):
    """Records applied per second over the last few seconds, how far behind the log it is, and
    when it should catch up at that rate."""

    def __init__(self) -> None:
        super().__init__()
        self.samples: list[tuple[float, float]] = []

    def render(self, task) -> Text:
        now = time.monotonic()
        self.samples = [s for s in self.samples if now - s[0] < 5] + [(now, task.completed)]
        (t0, c0), (t1, c1) = self.samples[0], self.samples[-1]
        rate = (c1 - c0) / (t1 - t0) if t1 > t0 else 0.0
        lag = int((task.total or 0) - task.completed)
        eta = f"{lag / rate:,.0f} s" if rate > 0 else "-"
        return Text(f"{rate:,.0f} events/s  lag {lag:,}  eta {eta}")


@contextmanager
def settings_environment(env: dict[str, str]):
    """The settings of a process of the stack, as if this process had its environment."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


async def replay_projections(
    names: list[str], stack_file: Path | None, drop_old: bool, console: Console
) -> list[ReplayResult]:
    specs = projection_specs()
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise ValueError(f"unknown projection(s) {', '.join(unknown)}; known: {', '.join(sorted(specs))}")
    stack = find(stack_file)
    results = []
    for name in names:
        results.append(await _replay_one(specs[name], stack, drop_old, console))
    return results


async def _replay_one(spec: ProjectionSpec, stack, drop_old: bool, console: Console) -> ReplayResult:
    from microblog_shared.bus import create_bus

    try:
        env = stack.process(process_name(spec.package, "projector")).env
    except LookupError:
        env = {}
    with settings_environment(env):
        settings = spec.settings_class(service_name=spec.package)
    bus = create_bus(settings)
    columns = (
        TextColumn(f"replaying {spec.name}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateAndLag(),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(spec.name, total=None)
            result = await Replay(spec, settings, bus).run(
                lambda done, total: progress.update(task, completed=done, total=total), drop_old=drop_old
            )
    finally:
        await bus.close()
    steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.steps.items())
    console.print(
        f"[green]{spec.name}[/green]: {result.records:,} records into schema {result.schema} "
        f"in {result.seconds:.1f} s ({result.records_per_second:,.0f} events/s: {steps}); "
        f"now serving {result.schema}, previous version {result.previous}"
        f"{' dropped' if drop_old and result.previous != 'public' else ' kept'}",
        soft_wrap=True,
    )
    return result
