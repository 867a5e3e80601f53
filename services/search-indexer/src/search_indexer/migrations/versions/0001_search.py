"""Projection bookkeeping, authors, post states and the PostgreSQL adapter's terms.

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
    op.execute("""CREATE TABLE users (
        id bigint PRIMARY KEY, username text NOT NULL, email text NOT NULL, version int NOT NULL)""")
    # Post states (domain/posts.py): tombstones stay (deleted, no body) so a late event cannot revive them.
    op.execute("""CREATE TABLE posts (
        id bigint PRIMARY KEY,
        version int NOT NULL,
        author_id bigint NOT NULL,
        body text NOT NULL,
        language text NOT NULL,
        created_at timestamptz,
        edited_at timestamptz,
        deleted boolean NOT NULL)""")
    # The PostgreSQL search adapter's index (empty when Elasticsearch is the backend).
    op.execute("""CREATE TABLE post_terms (
        post_id bigint PRIMARY KEY, version int NOT NULL, terms tsvector NOT NULL)""")
    op.execute("CREATE INDEX post_terms_search ON post_terms USING gin (terms)")
