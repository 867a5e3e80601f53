"""`microblog dev`: embedded PostgreSQL, migrations, every process, readiness, clean stop."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time
from pathlib import Path

from rich.console import Console
from rich.panel import Panel

from microblog_dev.embedded_postgres import EmbeddedPostgres, free_port
from microblog_dev.launchers import ZygoteLauncher
from microblog_dev.mailsink import MailSink, one_line
from microblog_dev.supervisor import Process, Supervisor, python_module
from microblog_ops.layout import SERVICES
from microblog_ops.stackfile import Stack, StackProcess, process_name
from microblog_shared.runtime.db import ensure_database
from microblog_shared.runtime.migrations import upgrade


class DevStack:
    def __init__(
        self,
        console: Console,
        data_dir: Path,
        port: int,
        database_url: str | None,
        bus: str,
        kafka_bootstrap: str | None,
        partitions: int,
        raw_logs: bool,
        web_port: int = 5000,
    ) -> None:
        self.console = console
        self.data_dir = data_dir
        self.port = port
        self.web_port = web_port
        self.server_url = database_url
        self.bus = bus
        self.kafka_bootstrap = kafka_bootstrap
        self.partitions = partitions
        self.launcher = ZygoteLauncher()
        self.supervisor = Supervisor(console, raw_logs, self.launcher)
        self.postgres: EmbeddedPostgres | None = None
        # Every mail the platform sends lands here (a Maildir) and gets a line in the log.
        self.mail = MailSink(
            data_dir / "mail",
            on_mail=lambda message: self.supervisor.show(
                Process("mail-sink", [], {}, "", colour="bright_green"), one_line(message)
            ),
        )

    def _secret(self, name: str = "jwt-secret") -> str:
        """A per-checkout secret (JWT, web session, proxy, internal), kept so tokens and sessions survive a restart."""
        path = self.data_dir / name
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def _start_database(self) -> str:
        if self.server_url:
            return self.server_url
        self.postgres = EmbeddedPostgres(self.data_dir / "postgres")
        self.postgres.start()
        return self.postgres.url()

    async def run(self) -> int:
        started = time.monotonic()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            # The zygote imports every service while PostgreSQL starts and migrations run.
            zygote_log = await self.launcher.start([service.package for service in SERVICES])
            self.supervisor.follow(Process("zygote", [], {}, ""), zygote_log)
            with self.console.status("starting PostgreSQL and migrating databases…"):
                server = await asyncio.to_thread(self._start_database)
                urls = await asyncio.to_thread(self._prepare_databases, server)
            await self.mail.start()
            processes = self._processes(urls)
            for process in processes:
                await self.supervisor.start(process)
            ready = asyncio.create_task(self.supervisor.wait_ready(timeout=90))
            interrupted = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({ready, interrupted}, return_when=asyncio.FIRST_COMPLETED)
            if interrupted in done:
                ready.cancel()
                return 0
            ready.result()
            self._stack(processes).write(self.stack_file)
            self._announce(time.monotonic() - started, server)
            failed = asyncio.create_task(self.supervisor.failed.wait())
            await asyncio.wait({interrupted, failed}, return_when=asyncio.FIRST_COMPLETED)
            return 1 if failed.done() else 0
        except Exception as exc:
            self.console.print(f"[red]microblog dev failed: {exc}[/red]")
            return 1
        finally:
            self.console.print("stopping…")
            self.stack_file.unlink(missing_ok=True)
            await self.supervisor.stop_all()
            await self.launcher.close()
            await self.mail.stop()
            if self.postgres:
                await asyncio.to_thread(self.postgres.stop)
            self.console.print("stopped")

    def _prepare_databases(self, server: str) -> dict[str, str]:
        urls = {}
        for service in SERVICES:
            if service.database:
                urls[service.package] = ensure_database(server, service.database)
                upgrade(service.package, urls[service.package])
        if self.bus == "postgres":
            urls["bus"] = ensure_database(server, "bus")
        return urls

    def _processes(self, urls: dict[str, str]) -> list[Process]:
        common = {
            "MICROBLOG_ENVIRONMENT": "development",
            "MICROBLOG_JWT_SECRET": self._secret(),
            "MICROBLOG_BUS": self.bus,
            "MICROBLOG_BUS_PARTITIONS": str(self.partitions),
            "MICROBLOG_SMTP_HOST": "127.0.0.1",
            "MICROBLOG_SMTP_PORT": str(self.mail.port),
            "MICROBLOG_ADMINS": "admin@localhost",
            # The gateway trusts the web's X-Forwarded-For only with this; reset links point at the web.
            "MICROBLOG_TRUSTED_PROXY_SECRET": self._secret("proxy-secret"),
            "MICROBLOG_PUBLIC_URL": self.web_url,
        }
        if self.bus == "postgres":
            common["MICROBLOG_BUS_DATABASE_URL"] = urls["bus"]
        elif self.kafka_bootstrap:  # the CLI requires one with --bus kafka
            common["MICROBLOG_KAFKA_BOOTSTRAP"] = self.kafka_bootstrap
        processes: list[Process] = []
        api_urls: dict[str, str] = {}
        for service in SERVICES:
            for command in service.commands:
                port = {"gateway": self.port, "web": self.web_port}.get(service.package) or free_port()
                env = dict(common)
                if service.package == "web":
                    env["MICROBLOG_WEB_SECRET_KEY"] = self._secret("web-secret")
                else:  # the gateway signs the caller it forwards with it, the services check it
                    env["MICROBLOG_INTERNAL_SECRET"] = self._secret("internal-secret")
                if service.database:
                    env["MICROBLOG_DATABASE_URL"] = urls[service.package]
                # Each process learns the APIs started before it (the gateway: all of them).
                env.update({f"MICROBLOG_{name.upper()}_URL": url for name, url in api_urls.items()})
                if command == "api":
                    api_urls[service.package] = f"http://127.0.0.1:{port}"
                processes.append(
                    Process(
                        name=process_name(service.package, command),
                        argv=python_module(service.package, command, port),
                        env=env,
                        health_url=f"http://127.0.0.1:{port}/readyz",
                    )
                )
        return processes

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def stack_file(self) -> Path:
        return self.data_dir / "stack.json"

    def _stack(self, processes: list[Process]) -> Stack:
        """What operator commands (`microblog status`, `dlq`, `replay`) need to find every process."""
        inherited = {k: v for k, v in os.environ.items() if k.startswith("MICROBLOG_")}  # e.g. a bus namespace
        described = []
        for process in processes:
            package, _, command = process.name.rpartition("-")
            described.append(
                StackProcess(
                    process.name,
                    package.replace("-", "_"),
                    command,
                    process.health_url.removesuffix("/readyz"),
                    {**inherited, **process.env},
                )
            )
        return Stack(described, self.bus)

    def _announce(self, seconds: float, server: str) -> None:
        database = self.postgres.url() if self.postgres else server
        self.console.print(
            Panel.fit(
                f"[bold green]microblog is ready[/bold green] in {seconds:.1f} s\n\n"
                f"web        {self.web_url}\n"
                f"API        http://127.0.0.1:{self.port}/api\n"
                f"API docs   http://127.0.0.1:{self.port}/api/docs\n"
                f"readiness  http://127.0.0.1:{self.port}/readyz\n"
                f"bus        {self.bus}{' at ' + self.kafka_bootstrap if self.kafka_bootstrap else ''}\n"
                f"database   {database.split('@')[-1]}  (data in {self.data_dir})\n"
                f"mail       smtp://127.0.0.1:{self.mail.port}  (kept in {self.data_dir / 'mail'})\n\n"
                "Ctrl-C stops everything.",
                title="microblog dev",
            )
        )
