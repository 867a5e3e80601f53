"""Event store and the post id sequence.

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
    op.execute("CREATE SEQUENCE post_ids")
