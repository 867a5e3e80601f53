"""What the search API's routes take: the served read model's engine and the search index."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from microblog_shared.http.deps import Reads, collaborator
from search_indexer.adapters.index import SearchIndex
from search_indexer.answers import AnswerCache

__all__ = ["Answers", "Index", "Reads"]

Index = Annotated[SearchIndex, Depends(collaborator("index"))]
Answers = Annotated[AnswerCache, Depends(collaborator("answers"))]
