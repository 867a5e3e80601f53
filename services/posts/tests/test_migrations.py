"""Migration 0002 fills the posts state table from the posts already in the event store."""

import json

from sqlalchemy import create_engine, text

from microblog_shared.runtime.migrations import upgrade


def test_posts_written_before_0002_get_their_rows_with_the_last_edit_and_without_the_deleted(fresh_database):
    url = fresh_database("posts_upgrade")
    upgrade("posts", url, revision="0001")
    created = "2026-11-24T10:00:00+00:00"
    history = [
        (
            "post-1",
            1,
            "PostCreated",
            1,
            {"post_id": 1, "author_id": 7, "body": "v1, no language", "created_at": created},
        ),
        (
            "post-2",
            1,
            "PostCreated",
            2,
            {"post_id": 2, "author_id": 7, "body": "draft", "language": "en", "created_at": created},
        ),
        (
            "post-2",
            2,
            "PostEdited",
            1,
            {
                "post_id": 2,
                "author_id": 7,
                "body": "better",
                "language": "en",
                "edited_at": "2026-11-24T11:00:00+00:00",
            },
        ),
        (
            "post-2",
            3,
            "PostEdited",
            1,
            {"post_id": 2, "author_id": 7, "body": "best", "language": "es", "edited_at": "2026-11-24T12:00:00+00:00"},
        ),
        (
            "post-3",
            1,
            "PostCreated",
            2,
            {"post_id": 3, "author_id": 8, "body": "gone", "language": "", "created_at": created},
        ),
        ("post-3", 2, "PostDeleted", 1, {"post_id": 3, "author_id": 8, "deleted_at": created}),
    ]
    engine = create_engine(url)
    with engine.begin() as conn:
        for stream, version, kind, schema, payload in history:
            conn.execute(
                text("""INSERT INTO events (event_id, stream_id, stream_version, type, schema_version,
                                     occurred_at, producer, payload)
                                 VALUES (gen_random_uuid(), :s, :v, :t, :sv, now(), 'posts', CAST(:p AS jsonb))"""),
                {"s": stream, "v": version, "t": kind, "sv": schema, "p": json.dumps(payload)},
            )
    upgrade("posts", url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, author_id, body, language, edited_at IS NOT NULL FROM posts ORDER BY id"))
        assert [tuple(r) for r in rows] == [(1, 7, "v1, no language", "", False), (2, 7, "best", "es", True)]
    engine.dispose()
