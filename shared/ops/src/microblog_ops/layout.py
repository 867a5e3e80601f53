"""The platform's processes: every service package, its database and the commands it runs.

`microblog dev` starts them in this order; the operator commands name and find them by it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceLayout:
    package: str
    database: str | None
    commands: tuple[str, ...]


# Every process of the platform; the gateway and the web UI (its client) start last and stop first.
SERVICES = [
    ServiceLayout("identity", "identity", ("api", "relay")),
    ServiceLayout("posts", "posts", ("api", "relay", "exporter")),
    ServiceLayout("social_graph", "social_graph", ("api", "relay")),
    ServiceLayout("messaging", "messaging", ("api", "relay")),
    ServiceLayout("timeline", "timeline", ("api", "projector")),
    ServiceLayout("notifier", "notifier", ("api", "projector", "mailer")),
    ServiceLayout("search_indexer", "search_indexer", ("api", "projector")),
    ServiceLayout("gateway", None, ("api",)),
    ServiceLayout("web", None, ("api",)),
]
