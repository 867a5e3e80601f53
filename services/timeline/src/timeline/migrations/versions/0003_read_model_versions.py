"""Which schema holds the read model being served (replays build the next one beside it).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from microblog_shared.read.readmodels import POINTER_TABLE

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(POINTER_TABLE)
