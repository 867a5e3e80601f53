"""Pictures the web draws itself: identicons for avatars Gravatar can't serve."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from web.identicon import HASH, identicon_svg

router = APIRouter()


@router.get("/identicon/{digest}.svg")
async def identicon(digest: str, s: int = Query(default=80, ge=8, le=512)):
    if not HASH.match(digest):
        raise HTTPException(404)
    return Response(
        identicon_svg(digest, s), media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )
