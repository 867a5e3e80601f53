"""The developer's commands, added to `microblog` in a checkout: `dev`, `test`, `translations`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from microblog_dev.checkout import repo_root

console = Console(highlight=False)


def dev(
    data_dir: Annotated[Path, typer.Option(help="Where the embedded PostgreSQL keeps its data")] = Path(".microblog"),
    port: Annotated[int, typer.Option(help="The gateway's port on 127.0.0.1")] = 8000,
    web_port: Annotated[int, typer.Option(help="The web UI's port on 127.0.0.1")] = 5000,
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="MICROBLOG_DEV_DATABASE_URL",
            help="Use this PostgreSQL server instead of the embedded one (one database per service is created)",
        ),
    ] = None,
    bus: Annotated[str, typer.Option(help="Event bus adapter: postgres or kafka")] = "postgres",
    kafka_bootstrap: Annotated[
        str | None, typer.Option(envvar="MICROBLOG_KAFKA_BOOTSTRAP", help="HOST:PORT of Kafka (with --bus kafka)")
    ] = None,
    partitions: Annotated[int, typer.Option(help="Partitions per topic")] = 4,
    raw_logs: Annotated[bool, typer.Option(help="Print the processes' JSON log lines as they are")] = False,
) -> None:
    """Start the whole platform on this machine and stream its logs; Ctrl-C stops it all."""
    if bus not in ("postgres", "kafka"):
        raise typer.BadParameter("--bus must be postgres or kafka")
    if bus == "kafka" and not kafka_bootstrap:
        raise typer.BadParameter(
            "--bus kafka needs --kafka-bootstrap HOST:PORT (a local broker: python deploy/local/kafka.py run)"
        )
    from microblog_dev.devstack import DevStack

    stack = DevStack(
        console, data_dir.resolve(), port, database_url, bus, kafka_bootstrap, partitions, raw_logs, web_port=web_port
    )
    sys.exit(asyncio.run(stack.run()))


def test(ctx: typer.Context) -> None:
    """Run every test (pytest; extra arguments are passed on)."""
    os.chdir(repo_root())
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", *ctx.args]))


translations = typer.Typer(
    help="The web UI's gettext catalogs (Babel): extract, init, update, compile.", no_args_is_help=True
)


def _catalogs(*args: str) -> None:
    """The web UI owns its catalogs (`python -m web.catalogs`); this only runs that in the checkout."""
    raise typer.Exit(subprocess.call([sys.executable, "-m", "web.catalogs", *args]))


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


def register(app: typer.Typer) -> None:
    """The `microblog.commands` entry point: add the developer's commands to the operator CLI."""
    app.command()(dev)
    app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(test)
    app.add_typer(translations, name="translations")
