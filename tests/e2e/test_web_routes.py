"""The web UI's routes over HTTP against the running stack: sessions, CSRF, pages, JSON endpoints."""

from __future__ import annotations

import re
import time
import uuid

import httpx
import pytest

from microblog_testkit.webforms import PASSWORD, flashes, unique


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/index",
        "/explore",
        "/messages",
        "/edit_profile",
        "/search?q=x",
        "/user/somebody",
        "/send_message/somebody",
    ],
)
def test_anonymous_visitors_are_sent_to_login_with_next(browser, path):
    answer = browser().get(path)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/auth/login?next=")
    assert httpx.URL(answer.headers["location"]).params["next"] == path


def test_register_login_logout_with_csrf_and_cookie_flags(browser):
    person = browser()
    registered = person.register()
    assert registered.headers["location"] == "/auth/login"
    assert "Congratulations, you are now a registered user!" in flashes(person.get("/auth/login"))
    logged_in = person.login()
    assert logged_in.headers["location"] == "/index"
    cookie = logged_in.headers["set-cookie"]
    assert cookie.startswith("session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Max-Age" not in cookie and "expires" not in cookie.lower()  # a browser-session cookie
    home = person.get("/index")
    assert home.status_code == 200 and f'href="/user/{person.username}"' in home.text
    assert person.get("/auth/login").headers["location"] == "/index"  # logged in: no login page
    assert person.get("/auth/register").headers["location"] == "/index"

    out = person.post("/auth/logout", csrf_from="/index")
    assert out.status_code == 303 and out.headers["location"] == "/index"
    assert person.get("/index").headers["location"].startswith("/auth/login")


def test_remember_me_makes_the_session_cookie_last_a_week(browser):
    person = browser()
    person.register()
    cookie = person.login(remember=True).headers["set-cookie"]
    assert "Max-Age=604800" in cookie


def test_bad_credentials_flash_and_taken_names_are_field_errors(browser):
    person = browser()
    person.register()
    wrong = person.post("/auth/login", {"username": person.username, "password": "not the password"})
    assert wrong.status_code == 401
    assert "Invalid username or password" in flashes(wrong)
    other = browser()
    again = other.post(
        "/auth/register",
        {
            "username": person.username,
            "email": f"{unique('e')}@example.com",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert again.status_code == 400
    assert 'class="invalid-feedback">Please use a different username.</div>' in again.text
    email = other.post(
        "/auth/register",
        {
            "username": unique("web"),
            "email": f"{person.username}@example.com",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert 'class="invalid-feedback">Please use a different email address.</div>' in email.text
    mismatch = other.post(
        "/auth/register",
        {
            "username": unique("web"),
            "email": f"{unique('e')}@example.com",
            "password": PASSWORD,
            "password2": "something else",
        },
    )
    assert mismatch.status_code == 400 and "is-invalid" in mismatch.text


def test_a_missing_or_wrong_csrf_token_is_400_and_nothing_happens(browser):
    person = browser().join()
    body = f"never posted {uuid.uuid4().hex}"
    missing = person.http.post("/index", data={"post": body})
    assert missing.status_code == 400
    assert "security token" in missing.text
    wrong = person.http.post("/index", data={"post": body, "csrf_token": "forged"})
    assert wrong.status_code == 400
    assert person.http.post("/translate", json={"text": "hola", "dest_language": "en"}).status_code == 400
    assert body not in person.get("/index").text
    assert body not in person.get("/explore").text


def test_a_new_post_is_on_the_very_next_page(browser):
    person = browser().join()
    body = f"hello from the web {uuid.uuid4().hex[:8]}"
    landed = person.follow(person.write(body))
    assert "Your post is now live!" in flashes(landed)
    assert re.search(rf'<span id="post-\d+-body">{body}</span>', landed.text)
    assert re.search(r'<article class="post[^"]*" id="post-\d+">', landed.text)
    assert (
        f'class="user-popup fw-semibold" href="/user/{person.username}" data-username="{person.username}"'
        in landed.text
    )
    assert re.search(r'<time class="relative" datetime="[^"]+Z" title="[^"]+">', landed.text)


def test_bad_input_is_4xx_never_500(browser):
    person = browser().join()
    too_long = person.write("x" * 141)
    assert too_long.status_code == 400 and "invalid-feedback" in too_long.text
    assert person.write("   ").status_code == 400
    for path in (
        "/explore?page=abc",
        "/explore?page=0",
        "/index?page=-3",
        "/explore?page=99999999",
        "/search?q=" + "x" * 300,
    ):
        assert person.get(path).status_code == 400, path
    assert person.get("/explore?page=500").status_code == 200  # past the end: an empty page
    assert person.get(f"/user/{'x' * 300}").status_code == 404
    assert person.get("/user/a%2Fb").status_code == 404
    assert person.get("/notifications?since=nan", headers={"Accept": "application/json"}).status_code == 400
    unknown = person.post(f"/follow/{unique('nobody')}", csrf_from="/index")
    assert unknown.status_code == 303
    assert any("not found" in f for f in flashes(person.follow(unknown)))
    myself = person.follow(person.post(f"/follow/{person.username}", csrf_from="/index"))
    assert "You cannot follow yourself!" in flashes(myself)


def test_follow_and_unfollow_change_home_and_counts(browser):
    bob = browser().join()
    bob_post = f"bob on rivers {uuid.uuid4().hex[:8]}"
    bob.write(bob_post)
    alice = browser().join()
    profile = alice.get(f"/user/{bob.username}")
    assert 'id="follow-form"' in profile.text and 'id="send-message"' in profile.text
    assert 'id="edit-profile"' not in profile.text
    followed = alice.follow(alice.post(f"/follow/{bob.username}", csrf_from=f"/user/{bob.username}"))
    assert f"You are following {bob.username}!" in flashes(followed)
    assert 'id="unfollow-form"' in followed.text
    assert re.search(r'<p class="counts[^"]*">1 follower, 0 following</p>', followed.text)
    assert bob_post in alice.get("/index").text
    unfollowed = alice.follow(alice.post(f"/unfollow/{bob.username}", csrf_from=f"/user/{bob.username}"))
    assert f"You are not following {bob.username}." in flashes(unfollowed)
    assert bob_post not in alice.get("/index").text


def test_own_profile_edit_and_unknown_profiles(browser):
    person = browser().join()
    mine = person.get(f"/user/{person.username}")
    assert 'id="edit-profile"' in mine.text and 'id="export-form"' in mine.text
    assert 'class="avatar' in mine.text and 'width="128"' in mine.text
    assert f'value="{person.username}"' in person.get("/edit_profile").text  # pre-filled
    email = f"{person.username}@example.com"
    saved = person.post(
        "/edit_profile",
        {"username": person.username, "email": email, "about_me": "I like rivers"},
        csrf_from="/edit_profile",
    )
    assert "Your changes have been saved." in flashes(person.follow(saved))
    assert '<p class="about-me mb-2">I like rivers</p>' in person.get(f"/user/{person.username}").text
    assert (
        person.post(
            "/edit_profile",
            {"username": person.username, "email": email, "about_me": "x" * 141},
            csrf_from="/edit_profile",
        ).status_code
        == 400
    )
    missing = person.get(f"/user/{unique('nobody')}")
    assert missing.status_code == 404 and "File Not Found" in missing.text and 'class="navbar' in missing.text


def test_the_popup_is_a_fragment_with_the_users_card(browser):
    bob = browser().join()
    alice = browser().join()
    card = alice.get(f"/user/{bob.username}/popup")
    assert card.status_code == 200
    assert card.text.lstrip().startswith('<div class="user-popup-card')
    assert "<html" not in card.text and bob.username in card.text and 'width="70"' in card.text
    assert 'action="/follow/' in card.text and 'name="csrf_token"' in card.text
    assert alice.get(f"/user/{unique('nobody')}/popup").status_code == 404


def test_messages_raise_the_badge_and_reading_them_clears_it(browser):
    susan = browser().join()
    john = browser().join()
    assert 'id="message-form"' in john.get(f"/send_message/{susan.username}").text
    sent = john.post(
        f"/send_message/{susan.username}",
        {"message": "see you at the river?"},
        csrf_from=f"/send_message/{susan.username}",
    )
    assert sent.headers["location"] == f"/user/{susan.username}"
    assert "Your message has been sent." in flashes(john.follow(sent))
    assert (
        john.post(
            f"/send_message/{susan.username}", {"message": "x" * 141}, csrf_from=f"/send_message/{susan.username}"
        ).status_code
        == 400
    )

    deadline = time.monotonic() + 15
    while True:
        rows = susan.get("/notifications?since=0", headers={"Accept": "application/json"}).json()
        unread = [r["data"] for r in rows if r["name"] == "unread_message_count"]
        if unread == [1]:
            break
        assert time.monotonic() < deadline, rows
        time.sleep(0.2)
    assert re.search(r'<span id="message-count" class="badge[^"]*">1</span>', susan.get("/index").text)
    inbox = susan.get("/messages")
    assert re.search(r'<div class="message[^"]*" id="message-\d+">', inbox.text)
    assert "see you at the river?" in inbox.text and john.username in inbox.text
    assert re.search(r'<span id="message-count" class="badge[^"]*d-none">0</span>', inbox.text)
    newest = max(r["timestamp"] for r in rows)
    assert susan.get(f"/notifications?since={newest + 1000}", headers={"Accept": "application/json"}).json() == []


def test_notifications_need_a_login_and_answer_json(browser):
    answer = browser().get("/notifications?since=0", headers={"Accept": "application/json"})
    assert answer.status_code == 401 and answer.json()["error"] == "Unauthorized"
    person = browser().join()
    assert person.get("/notifications?since=0", headers={"Accept": "application/json"}).json() == []


def test_translate_answers_503_json_when_no_translator_is_configured(browser):
    person = browser().join()
    answer = person.http.post(
        "/translate",
        json={"text": "Hola amigos", "source_language": "es", "dest_language": "en"},
        headers={"X-CSRF-Token": person.csrf("/index"), "Accept": "application/json"},
    )
    assert answer.status_code == 503
    assert answer.json()["error"] == "Service Unavailable" and "not configured" in answer.json()["message"]
    stranger = browser()
    assert (
        stranger.http.post(
            "/translate",
            json={"text": "x", "dest_language": "en"},
            headers={"X-CSRF-Token": stranger.csrf(), "Accept": "application/json"},
        ).status_code
        == 401
    )


def test_search_lists_matching_posts_with_a_pager(browser):
    person = browser().join()
    word = f"zebra{uuid.uuid4().hex[:8]}"
    person.write(f"a post about the {word}")
    results = person.get(f"/search?q={word}")
    assert results.status_code == 200
    assert f"a post about the {word}" in results.text
    assert 'class="pager' in results.text and "Previous results" in results.text and "Next results" in results.text
    assert person.get("/search?q=").headers["location"] == "/explore"


def test_errors_are_json_when_the_client_prefers_json(browser):
    person = browser()
    answer = person.get("/no/such/page", headers={"Accept": "application/json"})
    assert answer.status_code == 404 and answer.json() == {"error": "Not Found"}
    page = person.get("/no/such/page")
    assert page.status_code == 404 and "File Not Found" in page.text and "<html" in page.text


def test_the_language_comes_from_accept_language_or_the_switch(browser):
    spanish = browser(**{"Accept-Language": "es-ES,es;q=0.9"})
    page = spanish.get("/auth/login")
    assert '<html lang="es">' in page.text and "Iniciar sesión" in page.text
    chinese = browser(**{"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-Hans">' in chinese.get("/auth/login").text
    switched = spanish.post("/language", {"locale": "zh_Hans", "next": "/auth/register"})
    assert switched.headers["location"] == "/auth/register"
    assert "locale=zh_Hans" in switched.headers["set-cookie"]
    page = spanish.get("/auth/register")
    assert '<html lang="zh-Hans">' in page.text and "注册" in page.text
    away = spanish.post("/language", {"locale": "en", "next": "https://evil.example/"})
    assert away.headers["location"] == "/index"


def test_pages_send_security_headers(browser):
    page = browser().get("/auth/login")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"]
    assert "<script>" not in page.text
    assert re.search(r'<body [^>]*data-csrf="[^"]+"', page.text)
    assert browser().get("/static/bootstrap/css/bootstrap.min.css").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"])
def test_next_is_followed_only_to_local_paths(browser, target):
    person = browser()
    person.register()
    assert person.login(next_path=target).headers["location"] == "/index"


def test_next_to_a_local_path_is_followed(browser):
    person = browser()
    person.register()
    assert person.login(next_path="/explore?page=1").headers["location"] == "/explore?page=1"


def test_reset_request_answers_the_same_whatever_the_address(browser):
    person = browser()
    person.register()
    for email in (f"{person.username}@example.com", f"{unique('nobody')}@example.com"):
        answer = person.post("/auth/reset_password_request", {"email": email})
        assert answer.headers["location"] == "/auth/login"
        assert "Check your email for the instructions to reset your password" in flashes(person.follow(answer))
    bad = person.post(f"/auth/reset_password/{'x' * 40}", {"password": PASSWORD, "password2": PASSWORD})
    assert bad.headers["location"] == "/index"
