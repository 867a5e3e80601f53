"""Profiles and counts, follows, post languages and edits, home timelines.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""ALTER TABLE users
        ALTER COLUMN username SET DEFAULT '',
        ADD COLUMN email text NOT NULL DEFAULT '',
        ADD COLUMN about_me text NOT NULL DEFAULT '',
        ADD COLUMN last_seen timestamptz,
        ADD COLUMN registered_at timestamptz,
        ADD COLUMN post_count int NOT NULL DEFAULT 0,
        ADD COLUMN follower_count int NOT NULL DEFAULT 0,
        ADD COLUMN followed_count int NOT NULL DEFAULT 0,
        ADD COLUMN read_merged boolean NOT NULL DEFAULT false""")
    # Rows made before the 0002 projection existed were registered users.
    op.execute("UPDATE users SET registered_at = now() WHERE registered_at IS NULL")
    op.execute("UPDATE users u SET post_count = (SELECT count(*) FROM posts p WHERE p.author_id = u.id)")
    op.execute("CREATE INDEX users_by_name ON users (lower(username))")
    op.execute("""ALTER TABLE posts
        ADD COLUMN language text NOT NULL DEFAULT '',
        ADD COLUMN edited_at timestamptz""")
    op.execute("CREATE INDEX posts_newest ON posts (created_at DESC, id DESC)")
    op.execute("""CREATE TABLE follows (
        follower_id bigint NOT NULL, followee_id bigint NOT NULL, followed_at timestamptz NOT NULL,
        PRIMARY KEY (follower_id, followee_id))""")
    op.execute("CREATE INDEX follows_by_followee ON follows (followee_id, followed_at DESC, follower_id)")
    op.execute("""CREATE TABLE home_entries (
        user_id bigint NOT NULL, created_at timestamptz NOT NULL, post_id bigint NOT NULL,
        author_id bigint NOT NULL, PRIMARY KEY (user_id, created_at, post_id))""")
    op.execute("CREATE INDEX home_entries_by_post ON home_entries (post_id)")
    op.execute("CREATE INDEX home_entries_by_author ON home_entries (user_id, author_id)")
    # complete_since: home_entries holds every entry of the timeline at or after this key.
    op.execute("""CREATE TABLE home_state (
        user_id bigint PRIMARY KEY, size int NOT NULL DEFAULT 0,
        complete_since timestamptz, complete_since_id bigint)""")
    op.execute("CREATE TABLE totals (name text PRIMARY KEY, value bigint NOT NULL)")
    op.execute("""INSERT INTO totals VALUES ('posts', (SELECT count(*) FROM posts)),
                                            ('users', (SELECT count(*) FROM users))""")
    # Existing posts were in nobody's home timeline: start every home as "complete since now".
    op.execute("""INSERT INTO home_state (user_id, size, complete_since, complete_since_id)
                  SELECT id, 0, now(), 0 FROM users""")
