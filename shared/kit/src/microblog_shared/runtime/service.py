"""How every service process runs: `python -m <service> api|relay|projector|migrate`.

Workers (relay, projector) also serve /healthz, /readyz and /metrics on their own port, so
the dev stack, compose and Kubernetes probe every process the same way. With `metrics_port` set,
a process also serves its metrics there (the public gateway and web serve them only there).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import uvicorn
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse

from microblog_shared.http.app import create_service_app, database_check
from microblog_shared.http.errors import Refusals
from microblog_shared.read.projection import Projection
from microblog_shared.runtime.logs import configure_logging
from microblog_shared.runtime.settings import Settings
from microblog_shared.write.eventstore import EventStore

log = logging.getLogger(__name__)

S = TypeVar("S", bound=Settings)
Worker = Callable[[S, asyncio.Event, FastAPI], Coroutine[Any, Any, None]]


@dataclass
class ServiceSpec(Generic[S]):
    """What a service package offers; its `__main__` hands this to `main()`."""

    name: str
    package: str
    settings_class: type[S]  # the service's own settings, handed to its app and its workers
    create_app: Callable[[S], FastAPI] | None = None
    workers: dict[str, Worker[S]] = field(default_factory=dict)  # e.g. {"relay": run_relay}
    has_migrations: bool = True


def main(spec: ServiceSpec[Any], argv: list[str] | None = None) -> None:
    commands = (["migrate"] if spec.has_migrations else []) + (["api"] if spec.create_app else []) + list(spec.workers)
    parser = argparse.ArgumentParser(prog=f"python -m {spec.package}")
    parser.add_argument("command", choices=commands)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    settings = spec.settings_class(service_name=spec.name)
    configure_logging(f"{spec.name}-{args.command}", settings.log_level)

    if args.command == "migrate":
        from microblog_shared.runtime.migrations import upgrade

        upgrade(spec.package, settings.database_url)
        return
    if args.command == "api":
        assert spec.create_app is not None  # a choice only then
        app = spec.create_app(settings)
    else:
        app = worker_app(spec, args.command, settings)
    if settings.metrics_port:
        serve_metrics(settings.metrics_port)
    uvicorn.run(app, host=args.host, port=args.port, **server_options())


def serve_metrics(port: int, host: str = "0.0.0.0") -> None:  # scraped from other hosts
    """Serve this process's Prometheus metrics on `port`, from a daemon thread of their own."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=host)


def server_options() -> dict[str, Any]:
    """How every process serves HTTP (uvicorn's options besides host and port).

    X-Forwarded-For and X-Forwarded-Proto rewrite the client's address and scheme only where the
    deployment names its proxies in FORWARDED_ALLOW_IPS (Kubernetes: the ingress controller).
    uvicorn's own default trusts 127.0.0.1, which on one machine is every process and every
    client: anybody there could pick the address their rate limits count against.
    """
    return {
        "log_config": None,
        "access_log": False,
        "lifespan": "on",
        "proxy_headers": "FORWARDED_ALLOW_IPS" in os.environ,
    }


def worker_app(spec: ServiceSpec[Any], name: str, settings: Settings) -> FastAPI:
    """A health/metrics app whose lifespan runs the worker until shutdown."""
    from contextlib import asynccontextmanager

    from microblog_shared.runtime.db import create_engine

    engine = create_engine(settings.database_url, pool_size=2)
    stop = asyncio.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(spec.workers[name](settings, stop, app))
        task.add_done_callback(_exit_if_crashed)
        yield
        stop.set()
        await asyncio.wait_for(task, timeout=10)
        await engine.dispose()

    app = create_service_app(f"{spec.name}-{name}", f"{spec.name} {name}", [database_check(engine)], lifespan=lifespan)

    @app.get("/status", include_in_schema=False, response_model=None)
    async def status() -> JSONResponse | dict[str, Any]:
        """The worker's figures as JSON (status.py), for `microblog status`."""
        monitor = getattr(app.state, "monitor", None)
        if monitor is None:
            return JSONResponse({"process": f"{spec.name}-{name}", "status": "starting"}, status_code=503)
        return {"process": f"{spec.name}-{name}", **await monitor.refresh()}

    return app


def _exit_if_crashed(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("worker crashed; exiting so that the supervisor restarts it", exc_info=task.exception())
        logging.shutdown()
        os._exit(1)


async def run_relay(settings: Settings, stop: asyncio.Event, app: FastAPI) -> None:
    """The outbox relay of a write service: its event store to the bus."""
    from microblog_shared.bus import create_bus
    from microblog_shared.runtime.db import create_engine
    from microblog_shared.runtime.status import RelayMonitor
    from microblog_shared.write.relay import OutboxRelay

    engine, bus = create_engine(settings.database_url, pool_size=2), create_bus(settings)
    try:
        relay = OutboxRelay(EventStore(engine, settings.service_name), bus)
        app.state.monitor = RelayMonitor(relay, settings.service_name)
        await asyncio.gather(relay.run(stop), app.state.monitor.run(stop))
    finally:
        await bus.close()
        await engine.dispose()


def projector(make_projection: Callable[[Settings], Projection]) -> Worker[Settings]:
    """A worker running one projection into the service's database."""

    async def run_projector(settings: Settings, stop: asyncio.Event, app: FastAPI) -> None:
        from microblog_shared.bus import create_bus
        from microblog_shared.read.projection import ProjectionRunner
        from microblog_shared.runtime.db import create_engine
        from microblog_shared.runtime.status import ProjectionMonitor

        engine, bus = create_engine(settings.database_url, pool_size=2), create_bus(settings)
        projection = make_projection(settings)
        try:
            runner = ProjectionRunner(projection, engine, bus)
            app.state.monitor = ProjectionMonitor(runner, bus)
            await asyncio.gather(runner.run(stop), app.state.monitor.run(stop))
        finally:
            await projection.close()
            await bus.close()
            await engine.dispose()

    return run_projector


def write_service_app(
    settings: Settings,
    router: APIRouter,
    closing: Sequence[Callable[[], Awaitable[None]]] = (),
    *,
    refusals: Refusals | None = None,
    store: EventStore | None = None,
) -> FastAPI:
    """The app of a write service: its router over an event store in its own database.

    `closing` are awaited at shutdown (clients the service opened to other services); `refusals`
    map its domain errors to HTTP; `store` replaces the event store (tests: one that races).
    """
    from contextlib import asynccontextmanager

    from microblog_shared.runtime.db import create_engine

    engine = store.engine if store is not None else create_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        for close in closing:
            await close()
        await engine.dispose()

    name = settings.service_name
    app = create_service_app(name, f"microblog {name}", [database_check(engine)], lifespan=lifespan, refusals=refusals)
    app.state.settings = settings
    app.state.engine = engine
    app.state.store = store or EventStore(engine, producer=name)
    app.include_router(router)
    return app


def read_service_app(
    settings: Settings,
    router: APIRouter,
    projection: str,
    topics: Sequence[str],
    *,
    pool_size: int = 20,
    streams_span_topics: bool = False,
    checks: Sequence[Callable[[], Awaitable[None]]] = (),
    closing: Sequence[Callable[[], Awaitable[None]]] = (),
    refusals: Refusals | None = None,
) -> FastAPI:
    """The read API of a projection's service: its router over the read-model version being served.

    Reads follow that version (a replay switches it while the API runs) and wait, bounded, for
    consistency tokens. `checks` join readiness; `closing` are awaited at shutdown; `refusals` map
    its domain errors to HTTP.
    """
    from contextlib import asynccontextmanager

    from microblog_shared.read.consistency import ProjectionWaiter
    from microblog_shared.read.readmodels import VersionedEngine
    from microblog_shared.runtime.db import create_engine

    engine = create_engine(settings.database_url, pool_size=2)
    read_model = VersionedEngine(settings.database_url, projection, pool_size=pool_size)
    waiter = ProjectionWaiter(read_model, projection, set(topics), streams_span_topics=streams_span_topics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await read_model.start()
        yield
        await waiter.close()
        for close in closing:
            await close()
        await read_model.dispose()
        await engine.dispose()

    name = settings.service_name
    app = create_service_app(
        name, f"microblog {name}", [database_check(engine), *checks], lifespan=lifespan, refusals=refusals
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.read_model = read_model
    app.state.waiter = waiter
    app.include_router(router)
    return app
