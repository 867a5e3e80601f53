"""A person in a real browser (Chromium through Playwright) using the whole microblog web UI.

Each main page is kept as a screenshot under var/screenshots/ (MICROBLOG_SCREENSHOTS).
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect, sync_playwright

from microblog_testkit.browser import PASSWORD, Visitor, launch, screenshot, unique


@pytest.fixture(scope="module")
def chromium():
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture
def web(request, stack, web_url, chromium):
    """A factory of browsers on the stack's web UI, one context (cookies, locale, zone) each."""
    if request.node.callspec.params.get("stack") == "kafka":
        pytest.skip("the browser journeys run once, on the postgres-bus stack")
    contexts = []

    def visitor(locale: str = "en-US", timezone: str = "UTC") -> Visitor:
        context = chromium.new_context(locale=locale, timezone_id=timezone, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(20_000)
        contexts.append(context)
        return Visitor(context.new_page(), web_url)

    yield visitor
    for context in contexts:
        context.close()


def test_a_person_registers_posts_follows_and_sees_the_posts_on_home(web):
    bob = web().join("bob")
    bob.post("bob writes about rivers and lakes")
    assert "Your post is now live!" in bob.flashes()

    alice = web()
    alice.go("/index")
    assert "/auth/login" in alice.page.url  # login required, with next set
    assert "next=" in alice.page.url
    screenshot(alice.page, "login")
    alice.go("/auth/register")
    screenshot(alice.page, "register")
    alice.register(unique("alice"))
    assert "Congratulations, you are now a registered user!" in alice.flashes()
    assert alice.page.url.endswith("/auth/login")
    alice.login()
    assert re.search(r"/(index)?$", alice.page.url.split("?")[0])

    alice.post("alice says hello to the world")
    assert "Your post is now live!" in alice.flashes()
    expect(alice.page.locator("article.post").first).to_contain_text("alice says hello to the world")

    alice.go(f"/user/{bob.username}")
    expect(alice.page.locator("h1")).to_contain_text(bob.username)
    alice.submit("#follow-form")
    assert f"You are following {bob.username}" in " ".join(alice.flashes())
    expect(alice.page.locator("p.counts")).to_contain_text("1")
    expect(alice.page.locator("#unfollow-form")).to_be_visible()
    screenshot(alice.page, "profile-other")

    alice.go("/index")
    posts = alice.page.locator("article.post")
    expect(posts.filter(has_text="bob writes about rivers and lakes")).to_have_count(1)
    expect(posts.filter(has_text="alice says hello to the world")).to_have_count(1)
    screenshot(alice.page, "home")

    # The hover popup: a card loaded from /user/<name>/popup.
    alice.page.locator(f"a.user-popup[data-username='{bob.username}']").first.hover()
    card = alice.page.locator(".popover .user-popup-card")
    expect(card).to_be_visible(timeout=5_000)
    expect(card).to_contain_text(bob.username)
    screenshot(alice.page, "popup")

    alice.go("/explore")
    expect(alice.page.locator("#post-form")).to_have_count(0)
    expect(alice.page.locator("article.post").filter(has_text="bob writes about rivers")).to_have_count(1)
    screenshot(alice.page, "explore")

    alice.go(f"/user/{alice.username}")
    expect(alice.page.locator("#edit-profile")).to_be_visible()
    screenshot(alice.page, "profile-own")
    alice.page.click("#edit-profile")
    alice.page.wait_for_url("**/edit_profile")
    alice.page.fill("[name=about_me]", "I like rivers too")
    screenshot(alice.page, "edit-profile")
    alice.submit("form:has([name=about_me])")
    assert "Your changes have been saved." in alice.flashes()
    alice.go(f"/user/{alice.username}")
    expect(alice.page.locator("p.about-me")).to_contain_text("I like rivers too")

    alice.go(f"/user/{bob.username}")
    alice.submit("#unfollow-form")
    expect(alice.page.locator("#follow-form")).to_be_visible()
    alice.go("/index")
    expect(alice.page.locator("article.post").filter(has_text="bob writes about rivers")).to_have_count(0)

    alice.submit("#logout-form")
    alice.go("/index")
    assert "/auth/login" in alice.page.url


def test_a_message_raises_the_badge_live_and_reading_the_inbox_clears_it(web):
    susan, john = web().join("susan"), web().join("john")
    susan.go("/index")
    badge = susan.page.locator("#message-count")
    expect(badge).to_have_class(re.compile(r"\bd-none\b"))

    john.go(f"/user/{susan.username}")
    john.page.click("#send-message")
    john.page.wait_for_url(f"**/send_message/{susan.username}")
    john.page.fill("#message-form [name=message]", "see you at the river?")
    screenshot(john.page, "send-message")
    john.submit("#message-form")
    assert "Your message has been sent." in john.flashes()
    assert f"/user/{susan.username}" in john.page.url

    # Susan's open page polls /notifications and raises the badge without a reload.
    expect(badge).not_to_have_class(re.compile(r"\bd-none\b"), timeout=15_000)
    expect(badge).to_have_text("1")
    screenshot(susan.page, "badge")

    susan.page.click("#nav-messages")
    susan.page.wait_for_url("**/messages")
    expect(susan.page.locator("div.message").first).to_contain_text("see you at the river?")
    expect(susan.page.locator("div.message").first).to_contain_text(john.username)
    screenshot(susan.page, "messages")
    susan.go("/index")
    expect(susan.page.locator("#message-count")).to_have_class(re.compile(r"\bd-none\b"), timeout=15_000)


def test_search_finds_a_fresh_post_best_match_first(web):
    word = unique("zeppelin")
    writer = web().join("writer")
    writer.post(f"a {word} over the harbour")
    writer.post("nothing to see here")
    writer.page.fill("#search-form [name=q]", word)
    with writer.page.expect_navigation(wait_until="domcontentloaded"):
        writer.page.press("#search-form [name=q]", "Enter")
    assert "/search" in writer.page.url
    results = writer.page.locator("article.post")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text(word)
    screenshot(writer.page, "search")


def test_an_export_shows_live_progress_to_100_and_mails_the_posts(web, mailbox):
    from microblog_dev.mailsink import attachments

    author = web().join("exporter")
    for n in range(3):
        author.post(f"exported post number {n}")
    author.go(f"/user/{author.username}")
    author.submit("#export-form")
    alert = author.page.locator("div.alert[id^=task-]")
    expect(alert).to_be_visible()
    progress = author.page.locator("div.alert[id^=task-] span[id$=-progress]")
    expect(progress).to_have_text("100", timeout=30_000)
    screenshot(author.page, "export-progress")

    mail = mailbox.wait_for(f"{author.username}@example.com", "[Microblog] Your blog posts", timeout=30)
    ((name, kind, content),) = attachments(mail)
    assert (name, kind) == ("posts.json", "application/json")
    assert sorted(p["body"] for p in json.loads(content)["posts"]) == [f"exported post number {n}" for n in range(3)]


def test_a_password_is_reset_through_the_emailed_link(web, mailbox):
    from microblog_dev.mailsink import bodies

    forgetful = web()
    forgetful.register(unique("forgetful"))
    forgetful.go("/auth/login")
    forgetful.page.click("#reset-link")
    forgetful.page.wait_for_url("**/auth/reset_password_request")
    forgetful.page.fill("[name=email]", f"{forgetful.username}@example.com")
    screenshot(forgetful.page, "reset-request")
    forgetful.submit("form:has([name=email])")
    assert "Check your email for the instructions to reset your password" in forgetful.flashes()

    # The same answer for an address nobody has.
    stranger = web()
    stranger.go("/auth/reset_password_request")
    stranger.page.fill("[name=email]", f"{unique('nobody')}@example.com")
    stranger.submit("form:has([name=email])")
    assert "Check your email for the instructions to reset your password" in stranger.flashes()

    mail = mailbox.wait_for(f"{forgetful.username}@example.com", "[Microblog] Reset Your Password")
    text, _ = bodies(mail)
    link = re.search(r"https?://\S+/auth/reset_password/[A-Za-z0-9._-]+", text)[0]
    path = "/" + link.split("/", 3)[3]
    forgetful.go(path)
    forgetful.page.fill("[name=password]", "a brand new password")
    forgetful.page.fill("[name=password2]", "a brand new password")
    screenshot(forgetful.page, "reset-password")
    forgetful.submit("form:has([name=password2])")
    assert "Your password has been reset." in forgetful.flashes()

    forgetful.login(password=PASSWORD)
    assert "Invalid username or password" in forgetful.flashes()
    forgetful.login(password="a brand new password")
    assert "/auth/login" not in forgetful.page.url

    again = web()  # the link works once
    again.go(path)
    again.page.fill("[name=password]", "yet another password")
    again.page.fill("[name=password2]", "yet another password")
    again.submit("form:has([name=password2])")
    assert "/auth/reset_password" not in again.page.url


def test_an_email_change_needs_the_password_and_is_confirmed_through_the_emailed_link(web, mailbox):
    from microblog_dev.mailsink import bodies

    mover = web().join("mover")
    old, new = f"{mover.username}@example.com", f"moved-{mover.username}@example.com"
    mover.go("/edit_profile")
    expect(mover.page.locator("[name=email]")).to_have_value(old)
    mover.page.fill("[name=email]", new)
    mover.submit("#profile-form")
    expect(mover.page.locator("#field-current_password.is-invalid")).to_be_visible()
    mover.page.fill("[name=current_password]", PASSWORD)
    screenshot(mover.page, "edit-profile-email")
    mover.submit("#profile-form")
    assert f"A confirmation link was sent to {new}. Your email address changes when you open it." in mover.flashes()
    expect(mover.page.locator("[name=email]")).to_have_value(old)  # not changed yet

    text, _ = bodies(mailbox.wait_for(new, "[Microblog] Confirm Your New Email Address"))
    link = re.search(r"https?://\S+/confirm_email/[A-Za-z0-9._-]+", text)[0]
    mailbox.wait_for(old, "[Microblog] Your Email Address Is Being Changed")
    path = "/" + link.split("/", 3)[3]
    mover.go(path)
    screenshot(mover.page, "confirm-email")
    mover.go(path)  # opening the link twice changes nothing: only the button does
    mover.submit("#confirm-email-form")
    assert "Your email address has been changed." in mover.flashes()
    expect(mover.page.locator("[name=email]")).to_have_value(new)

    mover.go(path)  # the link works once
    mover.submit("#confirm-email-form")
    assert "The email confirmation link is invalid or has expired." in mover.flashes()


def test_the_ui_speaks_spanish_and_chinese_and_translates_posts(web):
    escritor = web(locale="es-ES").join("escritor")
    assert escritor.page.get_attribute("html", "lang") == "es"
    escritor.post("Hola amigos, hoy el parque está precioso y hace muchísimo sol")
    screenshot(escritor.page, "home-es-accept-language")

    reader = web().join("reader")
    assert reader.page.get_attribute("html", "lang") == "en"
    english_explore = reader.page.inner_text("#nav-explore").strip()

    reader.go("/explore")
    post = reader.page.locator("article.post").filter(has_text="hoy el parque").first
    link = post.locator("a.translate")
    expect(link).to_be_visible()
    link.click()
    # No translator is configured on the test stack: the link gives way to a clear message.
    expect(post.locator("a.translate")).to_have_count(0, timeout=10_000)
    expect(post.locator("span[id^=translation-]")).not_to_be_empty()
    screenshot(reader.page, "translate")

    with reader.page.expect_navigation(wait_until="domcontentloaded"):
        reader.page.click("#language-form button[value=es]")
    assert reader.page.get_attribute("html", "lang") == "es"
    spanish_explore = reader.page.inner_text("#nav-explore").strip()
    assert spanish_explore and spanish_explore != english_explore
    screenshot(reader.page, "explore-es")

    with reader.page.expect_navigation(wait_until="domcontentloaded"):
        reader.page.click("#language-form button[value=zh_Hans]")
    assert reader.page.get_attribute("html", "lang") == "zh-Hans"
    chinese_explore = reader.page.inner_text("#nav-explore").strip()
    assert re.search(r"[\u4e00-\u9fff]", chinese_explore), chinese_explore
    reader.go(f"/user/{reader.username}")
    assert re.search(r"[\u4e00-\u9fff]", reader.page.inner_text("p.counts"))
    screenshot(reader.page, "profile-zh")

    with reader.page.expect_navigation(wait_until="domcontentloaded"):
        reader.page.click("#language-form button[value=en]")
    assert reader.page.get_attribute("html", "lang") == "en"


def test_dates_follow_the_browsers_time_zone(web):
    traveller = web(timezone="Asia/Shanghai").join("traveller")
    traveller.go("/index")
    traveller.page.wait_for_function("document.body.dataset.timezone === 'Asia/Shanghai'", timeout=10_000)
    traveller.post("posted from Shanghai")
    stamp = traveller.page.locator("article.post time.relative").first
    assert stamp.get_attribute("datetime")
    assert stamp.get_attribute("title")  # the full date on hover
    traveller.go(f"/user/{traveller.username}")
    expect(traveller.page.locator("p.last-seen")).not_to_be_empty()


def test_unknown_pages_get_the_sites_404_page(web):
    visitor = web().join("lost")
    response = visitor.go(f"/user/{unique('nobody')}")
    assert response.status == 404
    expect(visitor.page.locator("body")).to_contain_text("File Not Found")
    expect(visitor.page.locator("nav.navbar")).to_be_visible()
    screenshot(visitor.page, "not-found")
