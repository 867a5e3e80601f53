"""Encoded search answers, kept while the read model stays in the state they were read from.

An answer is a function of the query, its page and the read model's state (`ReadModelState`: the
version's schema and how many records its projector has applied, which moves with every batch
it commits, index writes included). Asked in that same state, it is served as it was encoded,
without ranking again: a cached answer is never staler than a fresh one would be.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class AnswerCache:
    """The last `size` answers of the current state, least recently used out first (0: none kept)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._state: Hashable = None
        self._answers: OrderedDict[Hashable, bytes] = OrderedDict()

    def get(self, state: Hashable, key: Hashable) -> bytes | None:
        if state != self._state:
            return None
        answer = self._answers.get(key)
        if answer is not None:
            self._answers.move_to_end(key)
        return answer

    def put(self, state: Hashable, key: Hashable, answer: bytes) -> None:
        if self.size <= 0:
            return
        if state != self._state:  # the read model moved on: every answer kept is out of date
            self._answers.clear()
            self._state = state
        self._answers[key] = answer
        self._answers.move_to_end(key)
        while len(self._answers) > self.size:
            self._answers.popitem(last=False)

    def __contains__(self, key: Hashable) -> bool:
        """Whether an answer to `key` is kept (for the latest state one was kept in)."""
        return key in self._answers

    def __len__(self) -> int:
        return len(self._answers)
