"""The checkout the developer tools work in: the folder of the workspace's `uv.lock`."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def repo_root() -> Path:
    """The nearest folder above this package (installed editable) or the working directory with the
    workspace's lock file; these tools only make sense inside a checkout."""
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for folder in (start, *start.parents):
            if (folder / "uv.lock").is_file() and (folder / "services").is_dir():
                return folder
    raise RuntimeError(
        "not inside a microblog checkout (no uv.lock with a services/ folder above "
        f"{Path(__file__).parent} or {Path.cwd()})"
    )
