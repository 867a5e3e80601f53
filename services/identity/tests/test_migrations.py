from sqlalchemy import create_engine, text

from microblog_shared.runtime.migrations import upgrade


def test_users_registered_before_0002_get_their_stream_version_and_no_last_seen(fresh_database):
    url = fresh_database("identity_upgrade")
    upgrade("identity", url, revision="0001")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text("""INSERT INTO users (id, username, email, password_hash, registered_at)
                             VALUES (1, 'susan', 'susan@example.com', 'H', now()),
                                    (2, 'bob', 'bob@example.com', 'H', now())""")
        )
        for version, kind in ((1, "UserRegistered"), (2, "PasswordSet")):
            conn.execute(
                text("""INSERT INTO events (event_id, stream_id, stream_version, type, schema_version,
                                     occurred_at, producer, payload)
                                 VALUES (gen_random_uuid(), 'user-1', :v, :t, 1, now(), 'identity', '{}')"""),
                {"v": version, "t": kind},
            )
    upgrade("identity", url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, version, last_seen FROM users ORDER BY id")).all()
        tables = conn.execute(text("SELECT count(*) FROM sessions UNION ALL SELECT count(*) FROM refresh_tokens"))
        assert [tuple(r) for r in rows] == [(1, 2, None), (2, 0, None)]
        assert tables.scalars().all() == [0, 0]
    engine.dispose()
