"""Concurrent appends: each event's writing transaction id, relays' progress as (transaction, position).

Revision ID: 0002
"""

from alembic import op

from microblog_shared.runtime.migrations import execute_all
from microblog_shared.write import eventstore

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_all(op, eventstore.TRANSACTION_IDS)
