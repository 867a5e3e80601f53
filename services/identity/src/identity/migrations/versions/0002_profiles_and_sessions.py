"""Profiles (last seen, snapshot version) and sessions with their refresh tokens.

Revision ID: 0002
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The users row becomes the User aggregate's snapshot: it records the stream version it folds.
    op.execute("ALTER TABLE users ADD COLUMN last_seen timestamptz, ADD COLUMN version int NOT NULL DEFAULT 0")
    op.execute("""UPDATE users SET version = coalesce(
        (SELECT max(stream_version) FROM events WHERE stream_id = 'user-' || users.id), 0)""")
    op.execute("ALTER TABLE users ALTER COLUMN version DROP DEFAULT")
    op.execute("""CREATE TABLE sessions (
        id text PRIMARY KEY,
        user_id bigint NOT NULL,
        started_at timestamptz NOT NULL,
        refresh_expires_at timestamptz NOT NULL,
        generation int NOT NULL,
        revoked_at timestamptz,
        tokens_expire_at timestamptz,
        version int NOT NULL)""")
    op.execute("CREATE INDEX sessions_live_by_user ON sessions (user_id) WHERE revoked_at IS NULL")
    op.execute("CREATE INDEX sessions_revoked ON sessions (tokens_expire_at) WHERE revoked_at IS NOT NULL")
    # Every generation stays, so that a rotated token coming back is recognised as reuse.
    op.execute("""CREATE TABLE refresh_tokens (
        hash text PRIMARY KEY,
        session_id text NOT NULL REFERENCES sessions (id),
        generation int NOT NULL)""")
