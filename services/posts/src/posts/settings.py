"""Posts' settings: the shared ones plus how the exporter works."""

from pydantic import Field

from microblog_shared.runtime.settings import Settings


class PostsSettings(Settings):
    service_name: str = "posts"
    # Posts written out per step of an export: one append, one transaction, one progress event.
    export_chunk_size: int = Field(default=500, ge=1, le=10_000)
    # The exporter wakes on NOTIFY from a new export; this is its fallback poll (and its retry pace).
    exporter_poll_seconds: float = Field(default=5.0, gt=0)
