"""`microblog`: the operator's command line (`status`, `replay`, `dlq`), in every image.

Other installed packages add commands through the `microblog.commands` entry points: each names
a function that takes this Typer app and registers its commands on it (in a checkout, the
developer CLI adds `dev`, `test` and `translations`).
"""

from __future__ import annotations

import asyncio
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from microblog_ops.commands import dlq, status

app = typer.Typer(help="The microblog platform: event-sourced, CQRS microservices.", no_args_is_help=True)
console = Console(highlight=False)


@app.command()
def replay(
    projections: Annotated[list[str] | None, typer.Argument(help="Projections to rebuild, e.g. timeline")] = None,
    all_projections: Annotated[bool, typer.Option("--all", help="Rebuild every projection")] = False,
    stack: Annotated[
        Path | None,
        typer.Option(help="The stack file of `microblog dev` (default .microblog/stack.json; else this environment)"),
    ] = None,
    drop_old: Annotated[bool, typer.Option(help="Drop the previous version once switched (kept by default)")] = False,
) -> None:
    """Rebuild read models from offset 0 into new versions while the current ones serve, then switch."""
    from microblog_ops.replaying import replay_projections
    from microblog_shared.read.replay import projection_specs

    names = sorted(projection_specs()) if all_projections else list(projections or [])
    if not names:
        raise typer.BadParameter("name a projection, or --all")
    try:
        asyncio.run(replay_projections(names, stack, drop_old, console))
    except (ValueError, LookupError, FileNotFoundError) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


app.command()(status)
app.add_typer(dlq, name="dlq")
for extension in entry_points(group="microblog.commands"):
    extension.load()(app)

if __name__ == "__main__":
    app()
