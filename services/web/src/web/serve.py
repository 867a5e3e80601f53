"""How the web runs: `python -m web api` serves the pages with `MICROBLOG_WEB_WORKERS` processes.

With one, it is the kit's `main` (runtime.service), as every service. With more, uvicorn's
supervisor binds the port once and spawns the workers, which each build the app (`worker_app`)
and accept from the same socket: the kernel hands each connection to one of them. What a worker
keeps in memory (badges, rendered posts, the ids of names, single-flight token refreshes) is its
own; the session is the signed cookie, so any worker serves any request of any session. A
worker ends with its supervisor (PR_SET_PDEATHSIG), and the supervisor replaces a worker that
dies. With `metrics_port`, the workers write their metrics to a directory of their own
(prometheus_client's multiprocess mode) and the supervisor serves them summed on that port.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import multiprocessing
import os
import shutil
import signal
import tempfile

import uvicorn
from fastapi import FastAPI

from microblog_shared.runtime.logs import configure_logging
from microblog_shared.runtime.service import ServiceSpec, server_options
from microblog_shared.runtime.service import main as service_main
from web.app import create_app
from web.settings import WebSettings

SPEC = ServiceSpec(name="web", package="web", create_app=create_app, has_migrations=False, settings_class=WebSettings)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("command", nargs="?")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args, _ = parser.parse_known_args(argv)
    if args.command == "api":
        settings = WebSettings(service_name="web")
        if settings.web_workers > 1:
            serve_workers(settings, args.host, args.port)
            return
    service_main(SPEC, argv)


def serve_workers(settings: WebSettings, host: str, port: int) -> None:
    """The supervisor: `settings.web_workers` processes of `worker_app` on one socket, until SIGTERM or SIGINT."""
    configure_logging("web-api", settings.log_level)
    metrics = None
    if settings.metrics_port:
        # Read by prometheus_client when it is imported, which a spawned worker does afresh.
        metrics = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="microblog-web-metrics-")
        serve_summed_metrics(settings.metrics_port, metrics)
    try:
        uvicorn.run(
            "web.serve:worker_app",
            factory=True,
            host=host,
            port=port,
            workers=settings.web_workers,
            **server_options(),
        )
    finally:
        if metrics:
            shutil.rmtree(metrics, ignore_errors=True)


def worker_app() -> FastAPI:
    """One worker's app (uvicorn calls it in each spawned process)."""
    _end_with_parent()
    settings = WebSettings(service_name="web")
    configure_logging("web-api", settings.log_level)
    return create_app(settings)


def serve_summed_metrics(port: int, directory: str, host: str = "0.0.0.0") -> None:  # scraped from other hosts
    """Every worker's metrics, summed, on `port` (a daemon thread of the supervisor)."""
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    start_http_server(port, addr=host, registry=registry)


def _end_with_parent() -> None:
    """Ask Linux to SIGTERM this worker when its supervisor dies: no worker left serving the port alone."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid != os.getppid():  # it died before the request above
        os.kill(os.getpid(), signal.SIGTERM)
