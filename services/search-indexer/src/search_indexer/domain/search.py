"""A search request as the index takes it: required terms and a page, checked before any I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from search_indexer.domain.analysis import query_terms

MAX_QUERY_LENGTH = 200  # characters of `q`
MAX_QUERY_TERMS = 32
# How deep pages go (Elasticsearch's default `index.max_result_window`; both adapters keep it).
MAX_RESULT_WINDOW = 10_000


class InvalidSearch(ValueError):
    """A search the client has to change (answered with 400)."""


@dataclass(frozen=True)
class SearchRequest:
    terms: tuple[str, ...]  # every one must match
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @classmethod
    def parse(cls, q: str, page: int, per_page: int) -> SearchRequest:
        if len(q) > MAX_QUERY_LENGTH:
            raise InvalidSearch(f"q is longer than {MAX_QUERY_LENGTH} characters")
        terms = query_terms(q)
        if not terms:
            raise InvalidSearch("q has no words to search for")
        if len(terms) > MAX_QUERY_TERMS:
            raise InvalidSearch(f"q has more than {MAX_QUERY_TERMS} words")
        if page < 1 or per_page < 1:
            raise InvalidSearch("page and per_page start at 1")
        if page * per_page > MAX_RESULT_WINDOW:
            raise InvalidSearch(f"search results stop at the {MAX_RESULT_WINDOW:,}th; refine the query instead")
        return cls(tuple(terms), page, per_page)


@dataclass(frozen=True)
class SearchHits:
    post_ids: list[int]  # best match first; ties: newest post first
    total: int


@dataclass(frozen=True)
class SearchPage:
    posts: list[Any]  # the page's posts as read-model rows (post_view's fields), best match first
    total: int  # how many posts match
