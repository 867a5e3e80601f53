"""`microblog status` and `microblog dlq`: watch a running platform and handle its dead letters.

Both find the platform through `stackfile.find` (the file `microblog dev` writes, or a container's
environment). `status` asks every process for /healthz and /readyz, and workers for /status;
`dlq` talks to the bus with the settings of the projection's projector process.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:  # `microblog --help` and `microblog test` should not pay for importing the platform
    import httpx

    from microblog_ops.stackfile import Stack, StackProcess
    from microblog_shared.read.deadletters import DeadLetter, DeadLetterQueue
    from microblog_shared.runtime.settings import Settings

console = Console(highlight=False)
T = TypeVar("T")

StackOption = Annotated[
    Path | None,
    typer.Option(
        "--stack", help="The stack file of `microblog dev` (default .microblog/stack.json; else this environment)"
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables")]
WORKERS = ("projector", "relay")
BUS_FIELDS = (
    "bus",
    "bus_database_url",
    "bus_partitions",
    "bus_namespace",
    "kafka_bootstrap",
    "kafka_replication_factor",
    "kafka_min_insync_replicas",
)


def _stack(path: Path | None) -> Stack:
    from microblog_ops.stackfile import find

    try:
        return find(path)
    except (FileNotFoundError, ValueError) as error:
        console.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(2) from None


# ---- status ----------------------------------------------------------------------------------


async def probe(client: httpx.AsyncClient, process: StackProcess) -> dict:
    """One process: alive (/healthz), ready (/readyz, timed) and, for workers, its /status."""
    import httpx

    entry = {
        "name": process.name,
        "command": process.command,
        "url": process.url,
        "healthy": False,
        "ready": False,
        "latency_ms": None,
        "problem": None,
    }
    try:
        entry["healthy"] = (await client.get(f"{process.url}/healthz")).status_code == 200
        started = time.perf_counter()
        ready = await client.get(f"{process.url}/readyz")
        entry["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
        entry["ready"] = ready.status_code == 200
        if not entry["ready"]:
            entry["problem"] = "; ".join(ready.json().get("failures", [])) or f"readyz answered {ready.status_code}"
        if process.command in WORKERS:
            answer = await client.get(f"{process.url}/status")
            if answer.status_code == 200:
                entry["status"] = answer.json()
    except (httpx.HTTPError, ValueError) as error:
        entry["problem"] = str(error) or type(error).__name__
    return entry


async def collect_status(stack: Stack, timeout: float = 5.0) -> dict:
    """What `microblog status --json` prints."""
    import httpx

    async with httpx.AsyncClient(timeout=timeout) as client:
        processes = await asyncio.gather(*(probe(client, p) for p in stack.processes))
    workers = [p.pop("status") for p in processes if "status" in p]
    return {
        "ok": all(p["healthy"] and p["ready"] for p in processes),
        "bus": stack.bus,
        "processes": processes,
        "projections": [w for w in workers if w.get("kind") == "projector"],
        "outboxes": [w for w in workers if w.get("kind") == "relay"],
    }


def _yes(flag: bool) -> str:
    return "[green]ok[/green]" if flag else "[red]down[/red]"


def show_status(report: dict) -> None:
    processes = Table(title="processes", title_justify="left")
    for column in ("process", "health", "ready", "check ms", "url", "problem"):
        processes.add_column(column, justify="right" if column == "check ms" else "left")
    for p in report["processes"]:
        latency = "" if p["latency_ms"] is None else f"{p['latency_ms']:.1f}"
        processes.add_row(
            p["name"], _yes(p["healthy"]), _yes(p["ready"]), latency, p["url"], escape(p["problem"] or "")
        )
    console.print(processes)

    projections = Table(title="projections", title_justify="left")
    for column in ("projection", "topic\\[partition]", "checkpoint", "end", "lag", "events/s", "dead letters"):
        projections.add_column(column, justify="left" if column.startswith(("projection", "topic")) else "right")
    for s in report["projections"]:
        dead = f"[yellow]{s['dead_letters_pending']}[/yellow]" if s["dead_letters_pending"] else "0"
        projections.add_row(
            f"[bold]{s['projection']}[/bold]",
            "all",
            f"{sum(p['checkpoint'] for p in s['partitions']):,}",
            f"{sum(p['end'] for p in s['partitions']):,}",
            f"{s['lag']:,}",
            f"{s['events_per_second']:,.1f}",
            dead,
        )
        for p in s["partitions"]:
            projections.add_row(
                "",
                escape(f"{p['topic']}[{p['partition']}]"),
                f"{p['checkpoint']:,}",
                f"{p['end']:,}",
                f"{p['lag']:,}",
                "",
                "",
            )
    console.print(projections)

    outboxes = Table(title="outboxes", title_justify="left")
    for column in ("service", "relayed", "backlog", "events/s"):
        outboxes.add_column(column, justify="left" if column == "service" else "right")
    for s in report["outboxes"]:
        outboxes.add_row(s["service"], f"{s['relayed']:,}", f"{s['backlog']:,}", f"{s['events_per_second']:,.1f}")
    console.print(outboxes)

    down = [p["name"] for p in report["processes"] if not (p["healthy"] and p["ready"])]
    if down:
        console.print(f"[red]{len(down)} of {len(report['processes'])} processes down: {', '.join(down)}[/red]")
    else:
        console.print(
            f"[green]all {len(report['processes'])} processes healthy and ready[/green] (bus: {report['bus']})"
        )


def status(stack: StackOption = None, as_json: JsonOption = False) -> None:
    """Every process's health, every projection's position and lag, outbox backlogs, dead letters.

    Exits 1 when a process is not healthy and ready.
    """
    report = asyncio.run(collect_status(_stack(stack)))
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        show_status(report)
    raise typer.Exit(0 if report["ok"] else 1)


# ---- dlq -------------------------------------------------------------------------------------

dlq = typer.Typer(help="A projection's dead letters: list, retry, drop.", no_args_is_help=True)


def bus_settings(env: dict[str, str]) -> Settings:
    """The bus settings of a process environment, over this process's own `MICROBLOG_*` variables."""
    from microblog_shared.runtime.settings import Settings

    merged = {**{k: v for k, v in os.environ.items() if k.startswith("MICROBLOG_")}, **env}
    values: dict[str, Any] = {  # strings, parsed as the environment's would be
        f: merged[f"MICROBLOG_{f.upper()}"] for f in BUS_FIELDS if f"MICROBLOG_{f.upper()}" in merged
    }
    # Only the bus matters here: the process's other settings (say, a production secret check) don't.
    return Settings(environment="test", **values)


async def projector_env(stack: Stack, projection: str) -> dict[str, str]:
    """The environment of the process running `projection` (asked over /status), else any projector's."""
    import httpx

    projectors = [p for p in stack.processes if p.command == "projector"]

    async def name_of(client: httpx.AsyncClient, process: StackProcess) -> str | None:
        try:
            answer = await client.get(f"{process.url}/status")
            return answer.json().get("projection") if answer.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None

    async with httpx.AsyncClient(timeout=3.0) as client:
        names = await asyncio.gather(*(name_of(client, p) for p in projectors))
    for process, name in zip(projectors, names, strict=True):
        if name == projection:
            return process.env
    if projectors and all(names):
        running = ", ".join(sorted({name for name in names if name}))
        raise LookupError(f"no projection named {projection!r}; running: {running}")
    return projectors[0].env if projectors else {}


async def _with_queue(stack_path: Path | None, projection: str, action: Callable[[DeadLetterQueue], Awaitable[T]]) -> T:
    from microblog_shared.bus import create_bus
    from microblog_shared.read.deadletters import DeadLetterQueue

    bus = create_bus(bus_settings(await projector_env(_stack(stack_path), projection)))
    try:
        return await action(DeadLetterQueue(bus, projection))
    finally:
        await bus.close()


def _run(stack: Path | None, projection: str, action: Callable[[DeadLetterQueue], Awaitable[T]]) -> T:
    try:
        return asyncio.run(_with_queue(stack, projection, action))
    except (LookupError, ValueError) as error:
        console.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(2) from None


def _show_letters(projection: str, letters: list[DeadLetter]) -> None:
    table = Table(title=f"dead letters of {projection} (pending)", title_justify="left")
    for column in ("id", "source", "type", "stream", "dead at"):
        table.add_column(column, no_wrap=True)
    table.add_column("error", overflow="fold")
    for letter in letters:
        d = letter.describe()
        source = d["source"] and f"{d['source']['topic']}[{d['source']['partition']}]@{d['source']['offset']}"
        error = escape(d["error"]) + (f" [dim](retry of {d['retry_of']})[/dim]" if d["retry_of"] else "")
        table.add_row(d["id"], escape(source or "?"), escape(d["type"]), escape(d["stream"]), d["dead_at"], error)
    console.print(table)
    console.print(f"{len(letters)} pending; ids are PARTITION:OFFSET on deadletter.{projection}")


@dlq.command("list")
def list_letters(
    projection: Annotated[str, typer.Argument(help="e.g. timeline")],
    stack: StackOption = None,
    as_json: JsonOption = False,
) -> None:
    """Dead letters not yet retried or dropped: id, original position, event, stream, error."""
    letters = _run(stack, projection, lambda queue: queue.pending())
    if as_json:
        print(json.dumps([letter.describe() for letter in letters], indent=2))
    else:
        _show_letters(projection, letters)


def _chosen(every: bool, offsets: list[str] | None) -> list[str] | None:
    if every == bool(offsets):
        raise typer.BadParameter("give either --all or --offset ID (one or more)")
    return None if every else offsets


AllOption = Annotated[bool, typer.Option("--all", help="Every pending dead letter")]
OffsetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--offset", help="A dead letter's id from `list` (PARTITION:OFFSET, or OFFSET when unambiguous); repeatable"
    ),
]


def _handle(projection: str, stack: Path | None, ids: list[str] | None, verb: str) -> list[DeadLetter]:
    from microblog_shared.read.deadletters import UnknownDeadLetter

    async def act(queue: DeadLetterQueue) -> list[DeadLetter]:
        try:
            letters = await queue.select(ids)
        except UnknownDeadLetter as error:
            raise LookupError(str(error)) from None
        if letters:
            await (queue.retry(letters) if verb == "retry" else queue.drop(letters))
        return letters

    return _run(stack, projection, act)


@dlq.command()
def retry(
    projection: Annotated[str, typer.Argument(help="e.g. timeline")],
    every: AllOption = False,
    offsets: OffsetOption = None,
    stack: StackOption = None,
) -> None:
    """Republish dead letters to their source topics (marked as retries) and mark them handled."""
    letters = _handle(projection, stack, _chosen(every, offsets), "retry")
    for letter in letters:
        d = letter.describe()
        console.print(escape(f"retried {d['id']}: {d['type']} {d['stream']} -> {d['source']['topic']}"))
    console.print(
        f"{len(letters)} retried. A retry superseded by a later version of its stream comes back "
        f"as a new dead letter saying so: `microblog dlq list {projection}`"
    )


@dlq.command()
def drop(
    projection: Annotated[str, typer.Argument(help="e.g. timeline")],
    every: AllOption = False,
    offsets: OffsetOption = None,
    stack: StackOption = None,
) -> None:
    """Mark dead letters handled without applying them (they stay on the topic, for the record)."""
    letters = _handle(projection, stack, _chosen(every, offsets), "drop")
    for letter in letters:
        d = letter.describe()
        console.print(escape(f"dropped {d['id']}: {d['type']} {d['stream']}"))
    console.print(f"{len(letters)} dropped")
