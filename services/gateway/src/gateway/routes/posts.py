from __future__ import annotations

from fastapi import APIRouter, Request

from gateway.auth import CurrentUser
from gateway.schemas import NewPost, Post, errors

router = APIRouter(tags=["posts"])


@router.post("/posts", status_code=201, response_model=Post, responses=errors(400, 401, 503),
             summary="Write a post (1 to 140 characters); answers with X-Consistency-Token")
async def create_post(body: NewPost, user: CurrentUser, request: Request):
    return await request.app.state.backends.posts.forward("POST", "/posts", request, user_id=user,
                                                          json=body.model_dump())
