"""Event store and the edges state table.

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
    # One row per current follow edge, kept in the same transaction as the edge's events.
    op.execute("""CREATE TABLE edges (
        follower_id bigint NOT NULL,
        followee_id bigint NOT NULL,
        followed_at timestamptz NOT NULL,
        PRIMARY KEY (follower_id, followee_id))""")
    # "Followers of X" reads by followee; the primary key serves "followed by X".
    op.execute("CREATE INDEX edges_followee ON edges (followee_id, follower_id)")
