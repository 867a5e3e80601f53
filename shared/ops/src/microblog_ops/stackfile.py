"""Where a running platform's processes are: the file `microblog dev` writes, or the environment.

Operator commands (`status`, `dlq`, `replay`) find a platform in this order:

1. a stack file: `microblog dev` writes `<data dir>/stack.json` once every process is ready
   (each process's name, URL and `MICROBLOG_*` environment) and removes it when it stops;
2. otherwise the environment of the process running the command, as in a compose or Kubernetes
   container: its own settings, and `MICROBLOG_STATUS_TARGETS` (`name=url,name=url`) or the
   conventional in-network names `<service dir>-<command>` on port 8080.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from microblog_ops.layout import SERVICES

DEFAULT_PATH = Path(".microblog") / "stack.json"
IN_NETWORK_PORT = 8080


@dataclass(frozen=True)
class StackProcess:
    name: str  # e.g. "timeline-projector"
    package: str  # e.g. "timeline"
    command: str  # api, relay, projector
    url: str  # where its /healthz, /readyz, /metrics and /status answer
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Stack:
    processes: list[StackProcess]
    bus: str = "postgres"

    def process(self, name: str) -> StackProcess:
        for process in self.processes:
            if process.name == name:
                return process
        raise LookupError(f"no process named {name!r} (known: {', '.join(p.name for p in self.processes)})")

    def write(self, path: Path) -> None:
        path.write_text(json.dumps({"bus": self.bus, "processes": [asdict(p) for p in self.processes]}, indent=2))
        path.chmod(0o600)  # it carries the processes' settings, secrets included

    @classmethod
    def read(cls, path: Path) -> Stack:
        raw = json.loads(path.read_text())
        return cls([StackProcess(**p) for p in raw["processes"]], raw.get("bus", "postgres"))


def process_name(package: str, command: str) -> str:
    return f"{package.replace('_', '-')}-{command}"


def from_environment(environ: dict[str, str] | None = None) -> Stack:
    """The platform as seen from inside its network (compose or Kubernetes)."""
    environ = dict(os.environ if environ is None else environ)
    own = {k: v for k, v in environ.items() if k.startswith("MICROBLOG_")}
    given = environ.get("MICROBLOG_STATUS_TARGETS", "")
    if given:
        targets = dict(pair.split("=", 1) for pair in given.split(",") if "=" in pair)
    else:
        targets = {
            process_name(s.package, c): f"http://{process_name(s.package, c)}:{IN_NETWORK_PORT}"
            for s in SERVICES
            for c in s.commands
        }
    processes = []
    for name, url in targets.items():
        package, _, command = name.rpartition("-")
        processes.append(StackProcess(name, package.replace("-", "_"), command, url.rstrip("/"), own))
    return Stack(processes, own.get("MICROBLOG_BUS", "postgres"))


def find(path: Path | None = None) -> Stack:
    """The stack file at `path` (or the default one if it exists), else the environment."""
    candidate = path or DEFAULT_PATH
    if candidate.exists():
        return Stack.read(candidate)
    if path is not None:
        raise FileNotFoundError(f"no stack file at {path} (is `microblog dev` running?)")
    return from_environment()
