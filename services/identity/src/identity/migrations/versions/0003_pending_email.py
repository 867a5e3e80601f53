"""An email change waiting for its confirmation link: the new address and which link confirms it.

Revision ID: 0003
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No reservation for the pending address: asking for an address must not keep its owner from it.
    op.execute("ALTER TABLE users ADD COLUMN pending_email text, ADD COLUMN pending_token_hash text")
