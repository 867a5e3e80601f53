"""Reading a home timeline: fanned-out entries, celebrities merged in, and the fallback past the cap."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from microblog_shared.pagination import PageParams
from timeline.queries import keyset, next_post_cursor, posts_by_ids

FANNED_OUT = """SELECT post_id AS id, created_at FROM home_entries
    WHERE user_id = :u AND (created_at, post_id) < (CAST(:kt AS timestamptz), :ki) {since}
    ORDER BY created_at DESC, post_id DESC LIMIT :k"""

# Authors marked read_merged are never fanned out: take their newest posts directly.
CELEBRITIES = """SELECT p.id, p.created_at FROM follows f
    JOIN users a ON a.id = f.followee_id AND a.read_merged
    CROSS JOIN LATERAL (SELECT id, created_at FROM posts WHERE author_id = f.followee_id
        AND (created_at, id) < (CAST(:kt AS timestamptz), :ki) ORDER BY created_at DESC, id DESC LIMIT :k) p
    WHERE f.follower_id = :u"""

# Past the cap: everything older than the oldest kept entry, straight from follows and posts.
FALLBACK = """SELECT p.id, p.created_at
    FROM (SELECT followee_id AS author_id FROM follows WHERE follower_id = :u UNION SELECT CAST(:u AS bigint)) a
    CROSS JOIN LATERAL (SELECT id, created_at FROM posts WHERE author_id = a.author_id
        AND (created_at, id) < (CAST(:kt AS timestamptz), :ki) AND (created_at, id) < (:cs, :csi)
        ORDER BY created_at DESC, id DESC LIMIT :k) p"""


async def home_timeline(conn: AsyncConnection, user_id: int, page: PageParams):
    """The user's own posts and those of everyone they follow, newest first."""
    state = (await conn.execute(
        text("SELECT complete_since, complete_since_id FROM home_state WHERE user_id = :u"), {"u": user_id}
    )).first()
    params = {"u": user_id, "k": page.offset + page.per_page, "o": page.offset, "n": page.per_page,
              **keyset(page)}
    parts = [CELEBRITIES]
    if state is not None and state.complete_since is not None:
        params.update(cs=state.complete_since, csi=state.complete_since_id)
        parts += [FANNED_OUT.format(since="AND (created_at, post_id) >= (:cs, :csi)"), FALLBACK]
    else:
        parts.append(FANNED_OUT.format(since=""))
    union = " UNION ".join(f"({part})" for part in parts)
    ids = (await conn.execute(
        text(f"SELECT id, created_at FROM ({union}) x ORDER BY created_at DESC, id DESC OFFSET :o LIMIT :n"),
        params,
    )).scalars().all()
    rows = await posts_by_ids(conn, list(ids))
    total = await conn.scalar(
        text("""SELECT coalesce(sum(post_count), 0) FROM users WHERE id IN (
                    SELECT followee_id FROM follows WHERE follower_id = :u UNION SELECT CAST(:u AS bigint))"""),
        {"u": user_id},
    )
    return rows, total, next_post_cursor(rows)
