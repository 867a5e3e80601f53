"""Projection bookkeeping, users' addresses, unread messages, notifications; the mail outbox.

The outbox lives in `public` whatever read-model version is served: a replay builds new
notification tables beside the old ones, but must find the mails already queued (by their
dedup keys) instead of mailing everybody again.

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
    op.execute("CREATE TABLE users (id bigint PRIMARY KEY, username text NOT NULL, email text NOT NULL)")
    # A recipient's unread messages (a set, so a redelivered MessageSent counts once).
    op.execute("""CREATE TABLE unread_messages (
        user_id bigint NOT NULL, message_id bigint NOT NULL, PRIMARY KEY (user_id, message_id))""")
    # One current notification per (user, name), as the original app kept them.
    op.execute("""CREATE TABLE notifications (
        user_id bigint NOT NULL, name text NOT NULL, data jsonb NOT NULL, timestamp double precision NOT NULL,
        PRIMARY KEY (user_id, name))""")
    op.execute("CREATE INDEX notifications_by_time ON notifications (user_id, timestamp)")
    op.execute("""CREATE TABLE IF NOT EXISTS public.mail_outbox (
        id bigserial PRIMARY KEY,
        dedup_key text NOT NULL UNIQUE,
        kind text NOT NULL,
        recipients text[] NOT NULL,
        to_user_id bigint,
        subject text NOT NULL,
        text_body text NOT NULL,
        html_body text NOT NULL,
        attachment jsonb,
        correlation_id text,
        status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
        attempts int NOT NULL DEFAULT 0,
        occurrences int NOT NULL DEFAULT 1,
        last_error text,
        queued_at timestamptz NOT NULL DEFAULT now(),
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz)""")
    op.execute("""CREATE INDEX IF NOT EXISTS mail_outbox_due ON public.mail_outbox (next_attempt_at)
                  WHERE status = 'queued'""")
    op.execute("CREATE INDEX IF NOT EXISTS mail_outbox_by_kind ON public.mail_outbox (kind, queued_at)")
