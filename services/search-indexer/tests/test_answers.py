"""Search answers kept per read-model state: reused while nothing changed, never once something did."""

from __future__ import annotations

from search_indexer.answers import AnswerCache
from search_indexer.queries import ReadModelState

S1, S2 = ReadModelState("public", 10), ReadModelState("public", 11)


def test_an_answer_is_served_in_the_state_it_was_read_in_only():
    answers = AnswerCache(4)
    answers.put(S1, ("kafka", 1, 10), b"one")
    assert answers.get(S1, ("kafka", 1, 10)) == b"one"
    assert answers.get(S1, ("kafka", 2, 10)) is None
    assert answers.get(S2, ("kafka", 1, 10)) is None
    assert answers.get(ReadModelState("search_indexer_v1", 10), ("kafka", 1, 10)) is None  # after a replay


def test_a_new_state_drops_every_answer_kept():
    answers = AnswerCache(4)
    answers.put(S1, "a", b"a")
    answers.put(S2, "b", b"b")
    assert len(answers) == 1
    assert (answers.get(S1, "a"), answers.get(S2, "b")) == (None, b"b")


def test_the_least_recently_used_answer_goes_first():
    answers = AnswerCache(2)
    answers.put(S1, "a", b"a")
    answers.put(S1, "b", b"b")
    assert answers.get(S1, "a") == b"a"
    answers.put(S1, "c", b"c")
    assert (answers.get(S1, "a"), answers.get(S1, "b"), answers.get(S1, "c")) == (b"a", None, b"c")


def test_size_zero_keeps_nothing():
    answers = AnswerCache(0)
    answers.put(S1, "a", b"a")
    assert (len(answers), answers.get(S1, "a")) == (0, None)
