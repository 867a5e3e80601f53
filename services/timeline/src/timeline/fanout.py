"""Home timelines on write: fan-out, backfill, removal and the cap.

`home_entries` holds, per reader, post keys (created_at, post_id) of their own posts and of the
authors they follow, except celebrities: once an author has more followers than the threshold
they are marked `read_merged` for good, their posts are merged at read time, and no longer
fanned out (sticky, so no post of theirs can fall between the two paths). It keeps the newest `cap`
entries: when a reader's home grows past cap + 10 %, the oldest are cut and `complete_since`
records the oldest key kept; older pages come from a fallback query (queries.py).
"""

from __future__ import annotations

from collections.abc import Sequence, Set

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


class HomeTimelines:
    """Every method takes a run of events' worth of rows and changes all homes in a few statements."""

    def __init__(self, cap: int, celebrity_followers: int) -> None:
        self.cap = cap
        self.slack = max(1, cap // 10)
        self.celebrity_followers = celebrity_followers

    async def mark_celebrities(self, conn: AsyncConnection, author_ids: list[int]) -> None:
        await conn.execute(
            text("""UPDATE users SET read_merged = true
                    WHERE id = ANY(CAST(:a AS bigint[])) AND follower_count > :n AND NOT read_merged"""),
            {"a": author_ids, "n": self.celebrity_followers},
        )

    async def fan_out(self, conn: AsyncConnection, posts: Sequence) -> None:
        """New posts (id, author_id, created_at) join their authors' homes and, unless the author is
        a celebrity, every follower's."""
        await self._insert(
            conn,
            """SELECT r.user_id, n.created_at, n.id, n.author_id
               FROM unnest(CAST(:p AS bigint[]), CAST(:a AS bigint[]), CAST(:t AS timestamptz[])) n(id, author_id, created_at)
               JOIN users a ON a.id = n.author_id
               CROSS JOIN LATERAL (SELECT n.author_id AS user_id UNION ALL
                                   SELECT follower_id FROM follows WHERE followee_id = n.author_id AND NOT a.read_merged) r
               LEFT JOIN home_state s ON s.user_id = r.user_id
               WHERE s.complete_since IS NULL OR (n.created_at, n.id) >= (s.complete_since, s.complete_since_id)""",
            {"p": [p.id for p in posts], "a": [p.author_id for p in posts], "t": [p.created_at for p in posts]},
            trim_at=self.cap + self.slack + 1,
        )

    async def backfill(self, conn: AsyncConnection, edges: Sequence) -> None:
        """New follows (follower_id, followee_id): each followee's recent posts join the follower's home."""
        params = {"r": [e.follower_id for e in edges], "a": [e.followee_id for e in edges], "cap": self.cap}
        # An author with more posts than the cap may have older posts the LIMIT leaves out: trimming
        # those homes to the cap at once puts complete_since above any such gap.
        gaps = await conn.execute(
            text("""SELECT DISTINCT f.reader FROM unnest(CAST(:r AS bigint[]), CAST(:a AS bigint[])) f(reader, author)
                    JOIN users a ON a.id = f.author AND NOT a.read_merged WHERE a.post_count > :cap"""),
            params,
        )
        await self._insert(
            conn,
            """SELECT f.reader, p.created_at, p.id, p.author_id
               FROM unnest(CAST(:r AS bigint[]), CAST(:a AS bigint[])) f(reader, author)
               JOIN users a ON a.id = f.author AND NOT a.read_merged
               LEFT JOIN home_state s ON s.user_id = f.reader
               CROSS JOIN LATERAL (SELECT created_at, id, author_id FROM posts WHERE author_id = f.author
                   AND (s.complete_since IS NULL OR (created_at, id) >= (s.complete_since, s.complete_since_id))
                   ORDER BY created_at DESC, id DESC LIMIT :cap) p""",
            params,
            trim_at=self.cap + self.slack + 1,
            trim_full={row.reader for row in gaps},
        )

    async def remove_authors(self, conn: AsyncConnection, edges: Sequence) -> None:
        """Unfollows (follower_id, followee_id): the followee's posts leave the follower's home."""
        await self._delete(
            conn,
            """DELETE FROM home_entries h USING unnest(CAST(:r AS bigint[]), CAST(:a AS bigint[])) x(r, a)
               WHERE h.user_id = x.r AND h.author_id = x.a RETURNING h.user_id""",
            {"r": [e.follower_id for e in edges], "a": [e.followee_id for e in edges]},
        )

    async def remove_posts(self, conn: AsyncConnection, post_ids: list[int]) -> None:
        await self._delete(
            conn,
            "DELETE FROM home_entries WHERE post_id = ANY(CAST(:p AS bigint[])) RETURNING user_id",
            {"p": post_ids},
        )

    async def rebuild(self, conn: AsyncConnection) -> None:
        """Every home from posts and follows at once: each reader's newest `cap` posts of their own
        and of the authors they follow (celebrities are merged at read time), and complete_since
        where older ones were left out.

        One statement, which never reads home_entries back: a replay builds the homes without
        their indexes and keys, and creates those afterwards."""
        await conn.execute(text("DELETE FROM home_entries"))
        await conn.execute(text("DELETE FROM home_state"))
        newest = """(SELECT created_at, id, author_id FROM posts WHERE author_id = {author}
                     ORDER BY created_at DESC, id DESC LIMIT :more)"""
        # Each reader's newest cap + 1 candidates, ranked: the first `cap` are kept; a home with a
        # candidate past them is complete since its `cap`-th entry.
        await conn.execute(
            text(f"""WITH candidates AS MATERIALIZED (
                         SELECT u.id AS user_id, p.created_at, p.id AS post_id, p.author_id,
                                row_number() OVER (PARTITION BY u.id ORDER BY p.created_at DESC, p.id DESC) AS rank
                         FROM users u CROSS JOIN LATERAL (
                             SELECT * FROM (
                                 SELECT * FROM {newest.format(author="u.id")} own
                                 UNION ALL
                                 SELECT p.* FROM follows f JOIN users a ON a.id = f.followee_id AND NOT a.read_merged
                                 CROSS JOIN LATERAL {newest.format(author="f.followee_id")} p
                                 WHERE f.follower_id = u.id) candidates
                             ORDER BY created_at DESC, id DESC LIMIT :more) p),
                     kept AS (
                         INSERT INTO home_entries (user_id, created_at, post_id, author_id)
                         SELECT user_id, created_at, post_id, author_id FROM candidates WHERE rank <= :cap)
                     INSERT INTO home_state (user_id, size, complete_since, complete_since_id)
                     SELECT user_id, least(count(*), :cap),
                            CASE WHEN count(*) > :cap THEN max(created_at) FILTER (WHERE rank = :cap) END,
                            CASE WHEN count(*) > :cap THEN max(post_id) FILTER (WHERE rank = :cap) END
                     FROM candidates GROUP BY user_id"""),
            {"more": self.cap + 1, "cap": self.cap},
        )

    async def _insert(
        self, conn: AsyncConnection, select: str, params: dict, trim_at: int, trim_full: Set[int] = frozenset()
    ) -> None:
        """Insert home entries; trim the homes past `trim_at`, and those of `trim_full` that hold the cap."""
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
        full = [r.user_id for r in grown if r.size >= trim_at or (r.user_id in trim_full and r.size >= self.cap)]
        if full:
            await self._trim(conn, full)

    async def _delete(self, conn: AsyncConnection, delete: str, params: dict) -> None:
        emptied = await conn.execute(
            text(f"""WITH gone AS ({delete})
                    UPDATE home_state s SET size = s.size - g.n
                    FROM (SELECT user_id, count(*) AS n FROM gone GROUP BY user_id) g
                    WHERE s.user_id = g.user_id RETURNING s.user_id, s.size, s.complete_since"""),
            params,
        )
        # An empty, complete home has no state row, exactly as a home that never had entries (and
        # as `rebuild` makes them): a replay builds the same tables as the live projection.
        empty = [r.user_id for r in emptied if r.size == 0 and r.complete_since is None]
        if empty:
            await conn.execute(
                text("DELETE FROM home_state WHERE user_id = ANY(CAST(:u AS bigint[])) AND size = 0"), {"u": empty}
            )

    async def _trim(self, conn: AsyncConnection, user_ids: list[int]) -> None:
        """Keep each home's newest `cap` entries; remember the oldest key kept."""
        await conn.execute(
            text("""WITH cut AS (
                        SELECT u.user_id, k.created_at, k.post_id FROM unnest(CAST(:u AS bigint[])) u(user_id)
                        CROSS JOIN LATERAL (SELECT created_at, post_id FROM home_entries WHERE user_id = u.user_id
                            ORDER BY created_at DESC, post_id DESC OFFSET :k LIMIT 1) k),
                    gone AS (
                        DELETE FROM home_entries h USING cut
                        WHERE h.user_id = cut.user_id AND (h.created_at, h.post_id) < (cut.created_at, cut.post_id))
                    UPDATE home_state s SET size = :cap, complete_since = cut.created_at, complete_since_id = cut.post_id
                    FROM cut WHERE s.user_id = cut.user_id"""),
            {"u": user_ids, "k": self.cap - 1, "cap": self.cap},
        )
