"""The replay phase: rebuild the timeline from the whole log into a new version, as operators do."""

from __future__ import annotations

from rich.progress import Progress

from bench.platform import Platform
from microblog_shared.bus import create_bus
from microblog_shared.read.replay import Replay, projection_specs


async def replay_timeline(platform: Platform, celebrity_followers: int, progress: Progress) -> dict:
    """`microblog replay timeline` in process, while the platform runs: records/s of the rebuild."""
    spec = projection_specs()["timeline"]
    settings = spec.settings_class(
        **{
            **platform.bus_settings().model_dump(),
            "database_url": platform.urls["timeline"],
            "celebrity_followers": celebrity_followers,
        }
    )
    bus = create_bus(settings)
    task = progress.add_task("replaying the timeline", total=None)
    try:
        result = await Replay(spec, settings, bus).run(
            lambda done, total: progress.update(task, completed=done, total=total)
        )
    finally:
        await bus.close()
    return {
        "records": result.records,
        "seconds": round(result.seconds, 1),
        "records_per_second": round(result.records_per_second),
        "schema": result.schema,
    }
