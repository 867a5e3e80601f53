"""The timeline read API: users, posts, explore and home timelines.

Every read first honours the caller's consistency token (bounded wait).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from microblog_shared.http.pagination import PageParams, collection
from microblog_shared.http.readapi import answer, consistent
from microblog_shared.http.text import Text
from timeline import queries
from timeline.deps import CallerId, CallerIdIfAny, Page, Reads
from timeline.home import home_timeline
from timeline.views import post_view, user_view

router = APIRouter(dependencies=[Depends(consistent)])
UserId = Annotated[int, Path(ge=1, le=2**62)]


async def user_or_404(conn, user_id: int):
    row = await queries.user(conn, user_id)
    if row is None:
        raise HTTPException(404, f"user {user_id} not found")
    return row


async def user_collection(conn, rows, viewer: int | None, page: PageParams, total: int, path: str, after):
    following = await queries.following_among(conn, viewer, [r.id for r in rows]) if viewer else set()
    return collection([user_view(r, viewer, following) for r in rows], page, total, path, next_after=after)


@router.get("/users")
async def list_users(request: Request, page: Page, viewer: CallerIdIfAny, reads: Reads):
    async with reads.connect() as conn:
        rows, total, after = await queries.users(conn, page)
        return answer(request, await user_collection(conn, rows, viewer, page, total, "/api/users", after))


@router.get("/users/by-name/{username}")
async def get_user_by_name(
    username: Annotated[Text, Path(max_length=64)], request: Request, viewer: CallerIdIfAny, reads: Reads
):
    async with reads.connect() as conn:
        row = await queries.user_by_name(conn, username)
        if row is None:
            raise HTTPException(404, f"user {username} not found")
        following = await queries.following_among(conn, viewer, [row.id]) if viewer else set()
    return answer(request, user_view(row, viewer, following))


@router.get("/users/{user_id}")
async def get_user(user_id: UserId, request: Request, viewer: CallerIdIfAny, reads: Reads):
    async with reads.connect() as conn:
        row = await user_or_404(conn, user_id)
        following = await queries.following_among(conn, viewer, [row.id]) if viewer else set()
    return answer(request, user_view(row, viewer, following))


@router.get("/users/{user_id}/followers")
async def followers(user_id: UserId, request: Request, page: Page, viewer: CallerIdIfAny, reads: Reads):
    return await _follow_list(request, reads, user_id, "followers", page, viewer)


@router.get("/users/{user_id}/followed")
async def followed(user_id: UserId, request: Request, page: Page, viewer: CallerIdIfAny, reads: Reads):
    return await _follow_list(request, reads, user_id, "followed", page, viewer)


async def _follow_list(
    request: Request, reads: AsyncEngine, user_id: int, direction: str, page: PageParams, viewer: int | None
):
    async with reads.connect() as conn:
        await user_or_404(conn, user_id)
        rows, total, after = await queries.follow_list(conn, user_id, direction, page)
        body = await user_collection(conn, rows, viewer, page, total, f"/api/users/{user_id}/{direction}", after)
    return answer(request, body)


@router.get("/users/{user_id}/posts")
async def user_posts(user_id: UserId, request: Request, page: Page, reads: Reads):
    async with reads.connect() as conn:
        await user_or_404(conn, user_id)
        rows, total, after = await queries.user_posts(conn, user_id, page)
    return answer(
        request, collection([post_view(r) for r in rows], page, total, f"/api/users/{user_id}/posts", next_after=after)
    )


@router.get("/posts/{post_id}")
async def get_post(post_id: Annotated[int, Path(ge=1, le=2**62)], request: Request, reads: Reads):
    async with reads.connect() as conn:
        row = await queries.post(conn, post_id)
    if row is None:
        raise HTTPException(404, f"post {post_id} not found")
    return answer(request, post_view(row))


@router.get("/explore")
async def explore(request: Request, page: Page, reads: Reads):
    async with reads.connect() as conn:
        rows, total, after = await queries.explore(conn, page)
    return answer(request, collection([post_view(r) for r in rows], page, total, "/api/explore", next_after=after))


@router.get("/timeline")
async def timeline(request: Request, page: Page, viewer: CallerId, reads: Reads):
    async with reads.connect() as conn:
        rows, total, after = await home_timeline(conn, viewer, page)
    return answer(request, collection([post_view(r) for r in rows], page, total, "/api/timeline", next_after=after))
