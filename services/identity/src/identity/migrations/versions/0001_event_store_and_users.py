"""Event store, id sequence and the users state table.

Revision ID: 0001
"""

from alembic import op

from microblog_shared.runtime.migrations import execute_all
from microblog_shared.write import eventstore

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_all(op, eventstore.INITIAL_SCHEMA)
    op.execute("CREATE SEQUENCE user_ids")
    op.execute("""CREATE TABLE users (
        id bigint PRIMARY KEY,
        username text NOT NULL,
        email text NOT NULL,
        about_me text NOT NULL DEFAULT '',
        password_hash text NOT NULL,
        registered_at timestamptz NOT NULL)""")
    op.execute("CREATE UNIQUE INDEX users_username_lower ON users (lower(username))")
    op.execute("CREATE UNIQUE INDEX users_email_lower ON users (lower(email))")
