"""The posts state table (filled from the events already written) and the export tables.

Revision ID: 0002
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every live post, written in the transaction that appends its event: what an export reads.
    op.execute("""CREATE TABLE posts (
        id bigint PRIMARY KEY,
        author_id bigint NOT NULL,
        body text NOT NULL,
        language text NOT NULL,
        created_at timestamptz NOT NULL,
        edited_at timestamptz)""")
    op.execute("CREATE INDEX posts_by_author ON posts (author_id, id)")
    # The same rows for the posts written before this table: the first body, the last edit, no deletions.
    op.execute("""INSERT INTO posts (id, author_id, body, language, created_at)
        SELECT (payload->>'post_id')::bigint, (payload->>'author_id')::bigint, payload->>'body',
               coalesce(payload->>'language', ''), (payload->>'created_at')::timestamptz
        FROM events WHERE type = 'PostCreated'""")
    op.execute("""UPDATE posts SET body = edit.payload->>'body', language = coalesce(edit.payload->>'language', ''),
                                   edited_at = (edit.payload->>'edited_at')::timestamptz
        FROM (SELECT DISTINCT ON (stream_id) stream_id, payload FROM events
              WHERE type = 'PostEdited' ORDER BY stream_id, stream_version DESC) AS edit
        WHERE edit.stream_id = 'post-' || posts.id""")
    op.execute("""DELETE FROM posts USING events
        WHERE events.type = 'PostDeleted' AND events.stream_id = 'post-' || posts.id""")

    # One row per export task, from its events; the partial unique index is the one-at-a-time rule.
    op.execute("""CREATE TABLE exports (
        task_id uuid PRIMARY KEY,
        user_id bigint NOT NULL,
        name text NOT NULL,
        description text NOT NULL,
        total int NOT NULL,
        exported int NOT NULL DEFAULT 0,
        progress int NOT NULL DEFAULT 0,
        after_post_id bigint NOT NULL DEFAULT 0,
        requested_at timestamptz NOT NULL,
        completed_at timestamptz)""")
    op.execute("CREATE UNIQUE INDEX exports_one_running_per_user ON exports (user_id) WHERE completed_at IS NULL")
    op.execute("CREATE INDEX exports_unfinished ON exports (requested_at) WHERE completed_at IS NULL")
    # The file's rows, written with the ExportProgressed of their chunk; the key refuses a post twice.
    op.execute("""CREATE TABLE exported_posts (
        task_id uuid NOT NULL REFERENCES exports ON DELETE CASCADE,
        post_id bigint NOT NULL,
        body text NOT NULL,
        language text NOT NULL,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (task_id, post_id))""")
