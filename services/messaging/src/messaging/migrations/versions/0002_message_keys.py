"""Idempotency keys of sent messages.

Revision ID: 0002
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A sender's Idempotency-Key and the inbox event it wrote (its MessageSent, at stream_version),
    # inserted in the transaction that appends the MessageSent: a retry answers that message.
    op.execute("""CREATE TABLE message_keys (
        sender_id bigint NOT NULL,
        key text NOT NULL,
        stream_id text NOT NULL,
        stream_version int NOT NULL,
        PRIMARY KEY (sender_id, key))""")
