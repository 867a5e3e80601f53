"""Event store, message ids and the messages state table.

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
    op.execute("CREATE SEQUENCE message_ids")
    # One row per message, written in the transaction that appends its MessageSent (and its read mark).
    op.execute("""CREATE TABLE messages (
        id bigint PRIMARY KEY,
        sender_id bigint NOT NULL,
        recipient_id bigint NOT NULL,
        body text NOT NULL,
        sent_at timestamptz NOT NULL,
        read_at timestamptz)""")
    # The inbox, newest first (keyset on id), and its unread part.
    op.execute("CREATE INDEX messages_inbox ON messages (recipient_id, id DESC)")
    op.execute("CREATE INDEX messages_unread ON messages (recipient_id, id) WHERE read_at IS NULL")
