"""Usernames this process has looked up, with their ids: a profile's posts are asked for with its user.

A profile page needs the user (by name) and their posts (by id): one trip through the gateway
after the other. With the id of an earlier lookup, both go at once; the user's answer then
confirms the guess, and a wrong one (a renamed user, a name taken by someone else) costs the
posts call again with the right id, so the page is always the one the sequential calls give.
"""

from __future__ import annotations


class UserIds:
    """At most `size` names (case-insensitive, as the gateway looks them up); the oldest goes first."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._ids: dict[str, int] = {}

    def get(self, username: str) -> int | None:
        return self._ids.get(username.lower())

    def put(self, username: str, user_id: int) -> None:
        key = username.lower()
        if self._ids.get(key) == user_id:
            return
        self._ids.pop(key, None)
        if len(self._ids) >= self.size:
            del self._ids[next(iter(self._ids))]
        self._ids[key] = user_id
