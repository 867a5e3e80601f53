"""The export-posts task: a person's own posts written out in chunks, with progress.

An export lives on a stream of its own. It starts (ExportRequested), advances one chunk of
posts at a time in post-id order (ExportProgressed, which says where the next chunk starts),
and completes (ExportCompleted). Decisions are pure; state is folded from the events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import reduce, singledispatch

from microblog_shared.events import Event, ExportCompleted, ExportProgressed, ExportRequested

NAME = "export_posts"
DESCRIPTION = "Exporting posts..."


class ExportRunning(Exception):
    """The person already has an export that hasn't completed: one at a time."""

    def __init__(self) -> None:
        super().__init__("an export of your posts is already running")


class ExportNotFound(LookupError):
    """No such export, or not the caller's."""

    def __init__(self) -> None:
        super().__init__("export not found")


@dataclass(frozen=True)
class Export:
    """What the decisions need to know about one export; `Export()` is one never requested."""

    exists: bool = False
    task_id: str = ""
    user_id: int = 0
    name: str = NAME
    description: str = DESCRIPTION
    total: int = 0
    exported: int = 0
    progress: int = 0
    after_post_id: int = 0  # the last post written out; the next chunk starts after it
    requested_at: datetime | None = None
    complete: bool = False
    version: int = 0  # of its stream: the expected version of the next append


def stream_id(task_id: str) -> str:
    return f"export-{task_id}"


# --- state ----------------------------------------------------------------------------


@singledispatch
def apply(event: Event, export: Export) -> Export:
    """The export after `event`."""
    raise TypeError(f"an export has no {type(event).__name__} events")


@apply.register
def _requested(event: ExportRequested, export: Export) -> Export:
    return replace(
        export,
        exists=True,
        task_id=event.task_id,
        user_id=event.user_id,
        name=event.name,
        description=event.description,
        total=event.total,
        requested_at=event.requested_at,
        version=export.version + 1,
    )


@apply.register
def _progressed(event: ExportProgressed, export: Export) -> Export:
    return replace(
        export,
        exported=event.exported,
        progress=event.progress,
        after_post_id=event.after_post_id,
        version=export.version + 1,
    )


@apply.register
def _completed(event: ExportCompleted, export: Export) -> Export:
    return replace(export, complete=True, progress=100, version=export.version + 1)


def replay(events: Iterable[Event], export: Export = Export()) -> Export:
    """The export after all `events`, in order (from scratch unless given an `export`)."""
    return reduce(lambda state, event: apply(event, state), events, export)


# --- decisions ------------------------------------------------------------------------


def request_export(task_id: str, user_id: int, already_running: bool, total: int, now: datetime) -> ExportRequested:
    """A person asks for their posts (`total` of them now); refused while their last export runs."""
    if already_running:
        raise ExportRunning()
    return ExportRequested(
        task_id=task_id, user_id=user_id, name=NAME, description=DESCRIPTION, total=total, requested_at=now
    )


def advance(export: Export, chunk: Sequence[int], chunk_size: int, now: datetime) -> list[Event]:
    """The events of writing out `chunk` (the ids of the next posts, ascending, at most `chunk_size`).

    A full chunk is progress; a short one (also an empty one) is the last: progress, then done.
    """
    if not export.exists or export.complete:
        return []
    if len(chunk) > chunk_size or any(a >= b for a, b in zip([export.after_post_id, *chunk], chunk)):
        # Out of order or already written: writing it would double or skip posts.
        raise ValueError("a chunk holds the next posts after the last one exported, ascending")
    events: list[Event] = []
    exported = export.exported + len(chunk)
    if chunk:
        events.append(
            ExportProgressed(
                task_id=export.task_id,
                user_id=export.user_id,
                exported=exported,
                total=export.total,
                progress=percent(exported, export.total),
                after_post_id=chunk[-1],
                at=now,
            )
        )
    if len(chunk) < chunk_size:
        events.append(
            ExportCompleted(task_id=export.task_id, user_id=export.user_id, post_count=exported, completed_at=now)
        )
    return events


def percent(exported: int, total: int) -> int:
    """Whole percent done; posts written after the request can't push it past 100."""
    if total <= 0:
        return 100
    return min(100, exported * 100 // total)


def task_view(export: Export) -> dict:
    """The public shape of the task (the original app's Task: id, name, description, progress, complete)."""
    return {
        "id": export.task_id,
        "name": export.name,
        "description": export.description,
        "progress": 100 if export.complete else export.progress,
        "complete": export.complete,
    }
