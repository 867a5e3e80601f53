import itsdangerous.timed

from web.session import (
    COOKIE,
    Session,
    SessionCodec,
    csrf_token,
    csrf_valid,
    flash,
    pop_flashes,
)


def test_a_session_round_trips_through_its_signed_cookie():
    codec = SessionCodec("secret")
    session = Session({"user_id": 7, "username": "susan"})
    assert codec.loads(codec.dumps(session)) == session


def test_a_forged_or_foreign_cookie_gives_an_empty_session():
    codec = SessionCodec("secret")
    value = codec.dumps(Session({"user_id": 7}))
    assert codec.loads(value[:-2] + "xx") == {}
    assert SessionCodec("another secret").loads(value) == {}
    assert codec.loads("not a cookie") == {}


def test_a_session_older_than_its_lifetime_is_refused(monkeypatch):
    codec = SessionCodec("secret", max_age=60)
    value = codec.dumps(Session({"user_id": 7}))
    real = itsdangerous.timed.time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real() + 61)
    assert codec.loads(value) == {}


def test_the_cookie_is_httponly_lax_and_persistent_only_when_remembered():
    codec = SessionCodec("secret")
    plain = codec.set_cookie_header(Session({"user_id": 1}), secure=False)
    assert plain.startswith(f"{COOKIE}=") and "HttpOnly" in plain and "SameSite=Lax" in plain
    assert "Max-Age" not in plain and "Secure" not in plain
    remembered = codec.set_cookie_header(Session({"user_id": 1, "remember": True}), secure=True)
    assert "Max-Age=604800" in remembered and "Secure" in remembered
    assert "Max-Age=0" in codec.set_cookie_header(Session(), secure=False)  # signed out: the cookie goes


def test_csrf_tokens_are_made_once_and_checked_in_constant_time():
    session = Session()
    token = csrf_token(session)
    assert session.modified and csrf_token(session) == token
    assert csrf_valid(session, token)
    assert not csrf_valid(session, token + "x")
    assert not csrf_valid(session, None)
    assert not csrf_valid(session, "")
    assert not csrf_valid(Session(), "")


def test_flashes_are_shown_once():
    session = Session()
    flash(session, "Your post is now live!", "success")
    assert pop_flashes(session) == [("success", "Your post is now live!")]
    assert pop_flashes(session) == []


def test_signing_in_starts_a_fresh_session_keeping_only_consistency_and_flashes():
    session = Session({"csrf_token": "t", "consistency": "c", "watched_task": "x", "flashes": [["info", "hi"]]})
    session.sign_in(3, "ana", "access", "refresh", remember=True)
    assert session == {  # a new CSRF token is made on first use: the one from before signing in is void
        "consistency": "c",
        "flashes": [["info", "hi"]],
        "user_id": 3,
        "username": "ana",
        "token": "access",
        "refresh_token": "refresh",
        "remember": True,
    }
    session.sign_out()
    assert session == {"flashes": [["info", "hi"]]}
