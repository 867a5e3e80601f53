"""`microblog`: the developer's command line (start the platform, run the tests)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from microblog_shared.cli.ops import dlq, status

app = typer.Typer(help="The microblog platform: event-sourced, CQRS microservices.", no_args_is_help=True)
console = Console(highlight=False)
REPO_ROOT = Path(__file__).resolve().parents[4]


@app.command()
def dev(
    data_dir: Annotated[Path, typer.Option(help="Where the embedded PostgreSQL keeps its data")] = Path(".microblog"),
    port: Annotated[int, typer.Option(help="The gateway's port on 127.0.0.1")] = 8000,
    web_port: Annotated[int, typer.Option(help="The web UI's port on 127.0.0.1")] = 5000,
    database_url: Annotated[Optional[str], typer.Option(
        envvar="MICROBLOG_DEV_DATABASE_URL",
        help="Use this PostgreSQL server instead of the embedded one (one database per service is created)",
    )] = None,
    bus: Annotated[str, typer.Option(help="Event bus adapter: postgres or kafka")] = "postgres",
    kafka_bootstrap: Annotated[Optional[str], typer.Option(envvar="MICROBLOG_KAFKA_BOOTSTRAP",
                                                           help="HOST:PORT of Kafka (with --bus kafka)")] = None,
    partitions: Annotated[int, typer.Option(help="Partitions per topic")] = 4,
    raw_logs: Annotated[bool, typer.Option(help="Print the processes' JSON log lines as they are")] = False,
) -> None:
    """Start the whole platform on this machine and stream its logs; Ctrl-C stops it all."""
    if bus not in ("postgres", "kafka"):
        raise typer.BadParameter("--bus must be postgres or kafka")
    if bus == "kafka" and not kafka_bootstrap:
        raise typer.BadParameter("--bus kafka needs --kafka-bootstrap HOST:PORT "
                                 "(a local broker: python deploy/local/kafka.py run)")
    from microblog_shared.cli.devstack import DevStack

    stack = DevStack(console, data_dir.resolve(), port, database_url, bus, kafka_bootstrap, partitions, raw_logs,
                     web_port=web_port)
    sys.exit(asyncio.run(stack.run()))


@app.command()
def replay(
    projections: Annotated[Optional[list[str]], typer.Argument(help="Projections to rebuild, e.g. timeline")] = None,
    all_projections: Annotated[bool, typer.Option("--all", help="Rebuild every projection")] = False,
    stack: Annotated[Optional[Path], typer.Option(help="The stack file of `microblog dev` "
                                                       "(default .microblog/stack.json; else this environment)")] = None,
    drop_old: Annotated[bool, typer.Option(help="Drop the previous version once switched (kept by default)")] = False,
) -> None:
    """Rebuild read models from offset 0 into new versions while the current ones serve, then switch."""
    from microblog_shared.cli.replaycmd import replay_projections
    from microblog_shared.replay import projection_specs

    names = sorted(projection_specs()) if all_projections else list(projections or [])
    if not names:
        raise typer.BadParameter("name a projection, or --all")
    try:
        asyncio.run(replay_projections(names, stack, drop_old, console))
    except (ValueError, LookupError, FileNotFoundError) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def test(ctx: typer.Context) -> None:
    """Run every test (pytest; extra arguments are passed on)."""
    os.chdir(REPO_ROOT)
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", *ctx.args]))


translations = typer.Typer(help="The web UI's gettext catalogs (Babel): extract, init, update, compile.",
                           no_args_is_help=True)


def _catalogs(*args: str) -> None:
    from web.catalogs import main as catalogs_main

    raise typer.Exit(catalogs_main(list(args)))


@translations.command()
def extract() -> None:
    """Collect every translatable string of the web UI into messages.pot."""
    _catalogs("extract")


@translations.command()
def init(locale: Annotated[str, typer.Argument(help="A new language, e.g. fr or zh_Hant")]) -> None:
    """Start a catalog for a new language from messages.pot."""
    _catalogs("init", locale)


@translations.command()
def update() -> None:
    """Merge messages.pot into every language's catalog (new strings get empty translations)."""
    _catalogs("update")


@translations.command(name="compile")
def compile_catalogs() -> None:
    """Compile every catalog (.po) into the .mo the web UI loads."""
    _catalogs("compile")


app.command()(status)
app.add_typer(translations, name="translations")
app.add_typer(dlq, name="dlq")

if __name__ == "__main__":
    app()
