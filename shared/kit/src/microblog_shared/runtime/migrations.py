"""Alembic, the same way for every service: migrations live in `<package>/migrations`."""

from __future__ import annotations

from types import ModuleType

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from microblog_shared.read.readmodels import DEFAULT_SCHEMA, search_path


def config(package: str, url: str) -> Config:
    """The Alembic configuration of `package`'s migrations on the database at `url`."""
    settings = Config()
    settings.set_main_option("script_location", f"{package}:migrations")
    settings.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return settings


def upgrade(package: str, url: str, schema: str | None = None, revision: str = "head") -> None:
    """Bring the database at `url` to the newest (or the given) revision of `package`'s migrations.

    Read models are migrated in the schema of the version being served, or in `schema` (a
    replay building the next version there).
    """
    settings = config(package, url)
    if schema is not None:
        settings.set_main_option("schema", schema)
    command.upgrade(settings, revision)


def run_env() -> None:
    """The body of every service's `migrations/env.py` (online mode, psycopg 3 sync driver)."""
    from alembic import context
    from sqlalchemy import create_engine

    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None, "config() sets it"
    engine = create_engine(url)
    with engine.connect() as connection:
        # One migrator at a time, even when several replicas start together.
        connection.execute(text("SELECT pg_advisory_lock(7000002)"))
        schema = context.config.get_main_option("schema") or _served_schema(connection)
        if schema != DEFAULT_SCHEMA:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            connection.execute(text("SELECT set_config('search_path', :s, false)"), {"s": search_path(schema)})
            connection.commit()
        context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        connection.execute(text("SELECT pg_advisory_unlock(7000002)"))
    engine.dispose()


def _served_schema(connection: Connection) -> str:
    """The schema of the read-model version being served (`public` until a replay switched).

    A service database holds at most one projection, so the pointer table has at most one row.
    """
    if connection.scalar(text("SELECT to_regclass('public.read_model_versions')")) is None:
        return DEFAULT_SCHEMA
    return connection.scalar(text("SELECT max(schema) FROM public.read_model_versions")) or DEFAULT_SCHEMA


def execute_all(op: ModuleType, statements: list[str]) -> None:
    """Run shared schema statements (event store, projection runner) inside a migration, through `alembic.op`."""
    for statement in statements:
        op.execute(statement)
