"""Text analysis: the one definition of a term, for indexing and for queries, in both adapters.

Posts are written in English, Spanish and Chinese (among others), so there is no stemming to
rely on: terms are words, case-folded and stripped of accents ("Café" and "cafe" are one term).
CJK scripts have no spaces between words, so a run of CJK characters is indexed as its single
characters and its overlapping pairs (bigrams); a query looks for its pairs (or its single
character), which finds the run wherever it appears. Everything else a query may contain
(quotes, brackets, colons, stars, backslashes) only separates words: no query syntax exists
for a client to get wrong.
"""

from __future__ import annotations

import re
import unicodedata

# Han (with extensions and compatibility ideographs), kana and Hangul syllables.
_CJK = (
    r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
    r"\u3040-\u309f\u30a0-\u30ff\uac00-\ud7af"
)
_RUN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")
_IS_CJK = re.compile(rf"[{_CJK}]")
MAX_TERM_LENGTH = 64  # longer "words" (hashes, long URLs) are cut: no index limit is ever met


def fold(text: str) -> str:
    """Case-folded, compatibility-normalised, without combining marks (accents)."""
    if text.isascii():
        return text.lower()  # the same for ASCII, without a pass per character
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _runs(text: str) -> list[str]:
    return _RUN.findall(fold(text))


def index_terms(text: str) -> list[str]:
    """The terms of a text in reading order (positions matter to ranking); CJK as characters and pairs."""
    terms: list[str] = []
    for run in _runs(text):
        if _IS_CJK.match(run):
            for i, char in enumerate(run):
                terms.append(char)
                if i + 1 < len(run):
                    terms.append(run[i : i + 2])
        else:
            terms.append(run[:MAX_TERM_LENGTH])
    return terms


def query_terms(text: str) -> list[str]:
    """The terms a query requires, each once, in order; CJK runs as their pairs (a lone character as itself)."""
    terms: list[str] = []
    for run in _runs(text):
        if _IS_CJK.match(run):
            terms.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
        else:
            terms.append(run[:MAX_TERM_LENGTH])
    return list(dict.fromkeys(terms))
