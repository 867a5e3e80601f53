"""Home timelines on write: fan-out, backfill, removal and the cap.

`home_entries` holds, per reader, post keys (created_at, post_id) of their own posts and of the
authors they follow, except celebrities: once an author has more followers than the threshold
they are marked `read_merged` for good, their posts are merged at read time, and no longer
fanned out (sticky, so no post of theirs can fall between the two paths). It keeps the newest `cap`
entries: when a reader's home grows past cap + 10 %, the oldest are cut and `complete_since`
records the oldest key kept; older pages come from a fallback query (queries.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


class HomeTimelines:
    def __init__(self, cap: int, celebrity_followers: int) -> None:
        self.cap = cap
        self.slack = max(1, cap // 10)
        self.celebrity_followers = celebrity_followers

    async def is_celebrity(self, conn: AsyncConnection, author_id: int) -> bool:
        return bool(await conn.scalar(text("SELECT read_merged FROM users WHERE id = :a"), {"a": author_id}))

    async def mark_celebrity(self, conn: AsyncConnection, author_id: int) -> None:
        await conn.execute(
            text("UPDATE users SET read_merged = true WHERE id = :a AND follower_count > :n AND NOT read_merged"),
            {"a": author_id, "n": self.celebrity_followers},
        )

    async def fan_out(self, conn: AsyncConnection, post_id: int, author_id: int, created_at: datetime) -> None:
        """Put a new post into its author's home and, unless a celebrity, every follower's."""
        readers = "SELECT CAST(:a AS bigint) AS user_id"
        if not await self.is_celebrity(conn, author_id):
            readers += " UNION ALL SELECT follower_id FROM follows WHERE followee_id = :a"
        await self._insert(
            conn,
            f"""SELECT r.user_id, CAST(:t AS timestamptz), CAST(:p AS bigint), CAST(:a AS bigint)
                FROM ({readers}) r LEFT JOIN home_state s ON s.user_id = r.user_id
                WHERE s.complete_since IS NULL OR (CAST(:t AS timestamptz), CAST(:p AS bigint))
                                                  >= (s.complete_since, s.complete_since_id)""",
            {"a": author_id, "p": post_id, "t": created_at},
        )

    async def backfill(self, conn: AsyncConnection, reader_id: int, author_id: int) -> None:
        """A new follow: the followee's recent posts join the reader's home."""
        if await self.is_celebrity(conn, author_id):
            return
        await self._insert(
            conn,
            """SELECT CAST(:r AS bigint), p.created_at, p.id, p.author_id
               FROM posts p LEFT JOIN home_state s ON s.user_id = :r
               WHERE p.author_id = :a AND (s.complete_since IS NULL
                     OR (p.created_at, p.id) >= (s.complete_since, s.complete_since_id))
               ORDER BY p.created_at DESC, p.id DESC LIMIT :cap""",
            {"r": reader_id, "a": author_id, "cap": self.cap},
            # The LIMIT may have left out older posts of the author: trimming to the cap at once puts
            # complete_since above any such gap.
            trim_above=self.cap,
        )

    async def remove_author(self, conn: AsyncConnection, reader_id: int, author_id: int) -> None:
        """An unfollow: the author's posts leave the reader's home."""
        await self._delete(conn, "DELETE FROM home_entries WHERE user_id = :r AND author_id = :a RETURNING user_id",
                           {"r": reader_id, "a": author_id})

    async def remove_post(self, conn: AsyncConnection, post_id: int) -> None:
        await self._delete(conn, "DELETE FROM home_entries WHERE post_id = :p RETURNING user_id", {"p": post_id})

    async def _insert(self, conn: AsyncConnection, select: str, params: dict, trim_above: int | None = None) -> None:
        grown = await conn.execute(
            text(f"""WITH added AS (
                        INSERT INTO home_entries (user_id, created_at, post_id, author_id) {select}
                        ON CONFLICT DO NOTHING RETURNING user_id)
                    INSERT INTO home_state AS s (user_id, size)
                    SELECT user_id, count(*) FROM added GROUP BY user_id
                    ON CONFLICT (user_id) DO UPDATE SET size = s.size + EXCLUDED.size
                    RETURNING user_id, size"""),
            params,
        )
        limit = self.cap + self.slack if trim_above is None else trim_above
        for user_id in [r.user_id for r in grown if r.size > limit]:
            await self._trim(conn, user_id)

    async def _delete(self, conn: AsyncConnection, delete: str, params: dict) -> None:
        await conn.execute(
            text(f"""WITH gone AS ({delete})
                    UPDATE home_state s SET size = s.size - g.n
                    FROM (SELECT user_id, count(*) AS n FROM gone GROUP BY user_id) g
                    WHERE s.user_id = g.user_id"""),
            params,
        )

    async def _trim(self, conn: AsyncConnection, user_id: int) -> None:
        """Keep the newest `cap` entries; remember the oldest key kept."""
        oldest = (await conn.execute(
            text("""SELECT created_at, post_id FROM home_entries WHERE user_id = :u
                    ORDER BY created_at DESC, post_id DESC OFFSET :k LIMIT 1"""),
            {"u": user_id, "k": self.cap - 1},
        )).first()
        await conn.execute(
            text("""DELETE FROM home_entries WHERE user_id = :u AND (created_at, post_id) < (:t, :p)"""),
            {"u": user_id, "t": oldest.created_at, "p": oldest.post_id},
        )
        await conn.execute(
            text("""UPDATE home_state SET size = :cap, complete_since = :t, complete_since_id = :p
                    WHERE user_id = :u"""),
            {"u": user_id, "cap": self.cap, "t": oldest.created_at, "p": oldest.post_id},
        )
