"""Projection bookkeeping, users and posts.

Revision ID: 0001
"""

from alembic import op

from microblog_shared.read import projection
from microblog_shared.runtime.migrations import execute_all

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_all(op, projection.SCHEMA)
    op.execute("CREATE TABLE users (id bigint PRIMARY KEY, username text NOT NULL)")
    op.execute("""CREATE TABLE posts (
        id bigint PRIMARY KEY,
        author_id bigint NOT NULL,
        body text NOT NULL,
        created_at timestamptz NOT NULL)""")
    op.execute("CREATE INDEX posts_by_author ON posts (author_id, created_at DESC, id DESC)")
