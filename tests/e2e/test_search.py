"""Search through the gateway: a fresh post is found at once, ranked, paged, edited, deleted, renamed."""

import uuid

import pytest


def word() -> str:
    """A word no other test (of this session's shared stack) writes."""
    return f"w{uuid.uuid4().hex[:12]}"


def found(person, q: str, **params) -> list[int]:
    response = person.get("/api/search", q=q, **params)
    assert response.status_code == 200, response.text
    return [p["id"] for p in response.json()["items"]]


def test_a_person_finds_their_post_right_after_writing_it(person):
    susan, needle = person("susan"), word()
    post = susan.post(f"Café con leche and {needle}")
    assert post.status_code == 201, post.text
    response = susan.get("/api/search", q=needle.upper())
    assert response.status_code == 200, response.text
    assert response.headers.get("X-Consistency-Reached") == "true"
    (item,) = response.json()["items"]
    assert item["id"] == post.json()["id"] and item["body"] == f"Café con leche and {needle}"
    assert (item["author"]["id"], item["author"]["username"]) == (susan.id, susan.username)
    assert item["author"]["_links"]["avatar"].startswith("https://www.gravatar.com/avatar/")
    assert found(susan, f"CAFE {needle}") == [item["id"]]


def test_results_are_ranked_and_paged(person):
    ann, needle = person("ann"), word()
    once = ann.post(f"{needle} once in a longer post about other things").json()["id"]
    often = ann.post(f"{needle} {needle} {needle}").json()["id"]
    others = [ann.post(f"{needle} number {i} in a longer post about other things").json()["id"] for i in range(3)]
    first = ann.get("/api/search", q=needle, per_page=2)
    assert first.json()["_meta"]["total_items"] == 5 and first.json()["_meta"]["total_pages"] == 3
    assert first.json()["items"][0]["id"] == often
    pages = [
        p["id"] for page in (1, 2, 3) for p in ann.get("/api/search", q=needle, per_page=2, page=page).json()["items"]
    ]
    assert sorted(pages) == sorted([once, often, *others])
    assert first.json()["_links"]["next"] == f"/api/search?q={needle}&page=2&per_page=2"


def test_chinese_and_spanish_posts_are_found(person):
    li, needle = person("li"), word()
    chinese = li.post(f"{needle} 我们明天去北京吃烤鸭").json()["id"]
    spanish = li.post(f"{needle} el niño comió en València").json()["id"]
    assert found(li, f"{needle} 北京 烤鸭") == [chinese]
    assert found(li, f"{needle} nino valencia") == [spanish]


def test_edits_deletes_and_renames_are_reflected(person):
    bob, before, after = person("bob"), word(), word()
    post_id = bob.post(f"first {before}").json()["id"]
    assert found(bob, before) == [post_id]
    assert bob.send("PUT", f"/api/posts/{post_id}", json={"body": f"second {after}"}).status_code == 200
    assert found(bob, before) == [] and found(bob, after) == [post_id]
    renamed = "bobby" + uuid.uuid4().hex[:8]
    assert bob.send("PUT", f"/api/users/{bob.id}", json={"username": renamed}).status_code == 200
    assert bob.get("/api/search", q=after).json()["items"][0]["author"]["username"] == renamed
    assert bob.send("DELETE", f"/api/posts/{post_id}").status_code == 204
    assert found(bob, after) == []


def test_searching_needs_a_token(client):
    response = client.get("/api/search", params={"q": "anything"})
    assert response.status_code == 401 and response.json()["error"] == "Unauthorized"


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "   "},
        {"q": '"():*\\'},
        {"q": "x" * 201},
        {"q": "x", "page": 0},
        {"q": "x", "page": "two"},
        {"q": "x", "per_page": 0},
        {"q": "x", "page": 101, "per_page": 100},
    ],
)
def test_bad_searches_are_400_json(person, params):
    eve = person("eve")
    response = eve.client.get("/api/search", params=params, headers=eve.headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "Bad Request" and response.json().get("message")


def test_query_syntax_characters_are_just_separators(person):
    dan, needle = person("dan"), word()
    post_id = dan.post(f"{needle}: it's (really) *fast*").json()["id"]
    for q in (
        f'"{needle}"',
        f"({needle})",
        f"{needle}:",
        f"{needle}*",
        f"{needle}\\",
        f"+{needle} -fast",
        f"{needle} && fast ||",
        f"{needle}~ fast^",
    ):
        assert found(dan, q) == [post_id], q
