"""Reading a home timeline: fanned-out entries, celebrities merged in, and the fallback past the cap."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from microblog_shared.http.pagination import PageParams
from timeline.queries import POSTS, fetch, fetch_one, keyset, next_post_cursor

FANNED_OUT = """SELECT post_id AS id, created_at FROM home_entries
    WHERE user_id = %(u)s AND (created_at, post_id) < (CAST(%(kt)s AS timestamptz), %(ki)s) {since}
    ORDER BY created_at DESC, post_id DESC LIMIT %(k)s"""

# Authors marked read_merged are never fanned out: take their newest posts directly.
CELEBRITIES = """SELECT p.id, p.created_at FROM follows f
    JOIN users a ON a.id = f.followee_id AND a.read_merged
    CROSS JOIN LATERAL (SELECT id, created_at FROM posts WHERE author_id = f.followee_id
        AND (created_at, id) < (CAST(%(kt)s AS timestamptz), %(ki)s) ORDER BY created_at DESC, id DESC LIMIT %(k)s) p
    WHERE f.follower_id = %(u)s"""

# Past the cap: everything older than the oldest kept entry, straight from follows and posts.
FALLBACK = """SELECT p.id, p.created_at
    FROM (SELECT followee_id AS author_id FROM follows WHERE follower_id = %(u)s UNION SELECT CAST(%(u)s AS bigint)) a
    CROSS JOIN LATERAL (SELECT id, created_at FROM posts WHERE author_id = a.author_id
        AND (created_at, id) < (CAST(%(kt)s AS timestamptz), %(ki)s) AND (created_at, id) < (%(cs)s, %(csi)s)
        ORDER BY created_at DESC, id DESC LIMIT %(k)s) p"""


# The page's state and total in one round trip: whether the home was cut at the cap, and how many
# posts its authors (the reader and everyone they follow) have.
STATE = """SELECT s.complete_since, s.complete_since_id,
        (SELECT coalesce(sum(post_count), 0) FROM users WHERE id IN (
            SELECT followee_id FROM follows WHERE follower_id = %(u)s UNION SELECT CAST(%(u)s AS bigint))) AS total
    FROM (SELECT 1) one LEFT JOIN home_state s ON s.user_id = %(u)s"""


async def home_timeline(conn: AsyncConnection, user_id: int, page: PageParams):
    """The user's own posts and those of everyone they follow, newest first: two statements."""
    state = await fetch_one(conn, STATE, {"u": user_id})
    params = {"u": user_id, "k": page.offset + page.per_page, "o": page.offset, "n": page.per_page, **keyset(page)}
    parts = [CELEBRITIES]
    if state.complete_since is not None:
        params.update(cs=state.complete_since, csi=state.complete_since_id)
        parts += [FANNED_OUT.format(since="AND (created_at, post_id) >= (%(cs)s, %(csi)s)"), FALLBACK]
    else:
        parts.append(FANNED_OUT.format(since=""))
    union = " UNION ".join(f"({part})" for part in parts)
    rows = await fetch(
        conn,
        f"""WITH page AS (SELECT id FROM ({union}) x ORDER BY created_at DESC, id DESC OFFSET %(o)s LIMIT %(n)s)
            {POSTS} JOIN page ON page.id = p.id ORDER BY p.created_at DESC, p.id DESC""",
        params,
    )
    return rows, state.total, next_post_cursor(rows)
