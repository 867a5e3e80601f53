"""Conditional GET through the gateway: a read answers a strong ETag, the same If-None-Match is a
304 without a body while the answer is unchanged, and a write that changes it brings a new ETag."""

import httpx


def read(person, path: str, tag: str | None = None) -> httpx.Response:
    headers = {**person.headers, "X-Consistency-Token": person.consistency}
    if tag is not None:
        headers["If-None-Match"] = tag
    return person.client.get(path, headers=headers)


def assert_not_modified(person, path: str, tag: str) -> None:
    again = read(person, path, tag)
    assert (again.status_code, again.content, again.headers["ETag"]) == (304, b"", tag)


def test_the_home_timeline_is_a_304_until_a_new_post_changes_it(person):
    susan = person("susan")
    susan.post("first words")
    first = read(susan, "/api/timeline")
    tag = first.headers["ETag"]
    assert first.status_code == 200 and tag.startswith('"') and not tag.startswith("W/")
    assert_not_modified(susan, "/api/timeline", tag)
    susan.post("second words")
    changed = read(susan, "/api/timeline", tag)
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert [p["body"] for p in changed.json()["items"]] == ["second words", "first words"]
    assert_not_modified(susan, "/api/timeline", changed.headers["ETag"])


def test_a_user_and_their_posts_are_304_until_they_change(person):
    susan, john = person("susan"), person("john")
    susan.post("hello")
    john.waits_for(susan)
    tags = {}
    for path in (f"/api/users/{susan.id}", f"/api/users/{susan.id}/posts"):
        answer = read(john, path)
        assert answer.status_code == 200, answer.text
        tags[path] = answer.headers["ETag"]
        assert_not_modified(john, path, tags[path])
    assert susan.send("PUT", f"/api/users/{susan.id}", json={"about_me": "new here"}).status_code == 200
    susan.post("hello again")
    john.waits_for(susan)
    for path, tag in tags.items():
        changed = read(john, path, tag)
        assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert read(john, f"/api/users/{susan.id}").json()["about_me"] == "new here"


def test_an_etag_of_one_reader_does_not_answer_another(person):
    """The same user read by themselves (with their email) and by another reader: different answers, different tags."""
    susan, john = person("susan"), person("john")
    john.waits_for(susan)
    own = read(susan, f"/api/users/{susan.id}")
    assert "email" in own.json()
    seen = read(john, f"/api/users/{susan.id}", own.headers["ETag"])
    assert seen.status_code == 200 and "email" not in seen.json() and seen.headers["ETag"] != own.headers["ETag"]
