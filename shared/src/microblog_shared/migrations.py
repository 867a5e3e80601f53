"""Alembic, the same way for every service: migrations live in `<package>/migrations`."""

from __future__ import annotations

from sqlalchemy import text

from alembic import command
from alembic.config import Config


def upgrade(package: str, url: str) -> None:
    """Bring the database at `url` to the newest revision of `package`'s migrations."""
    config = Config()
    config.set_main_option("script_location", f"{package}:migrations")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


def run_env() -> None:
    """The body of every service's `migrations/env.py` (online mode, psycopg 3 sync driver)."""
    from alembic import context
    from sqlalchemy import create_engine

    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        # One migrator at a time, even when several replicas start together.
        connection.execute(text("SELECT pg_advisory_lock(7000002)"))
        context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        connection.execute(text("SELECT pg_advisory_unlock(7000002)"))
    engine.dispose()


def execute_all(op, statements: list[str]) -> None:
    """Run shared schema statements (event store, projection runner) inside a migration."""
    for statement in statements:
        op.execute(statement)
