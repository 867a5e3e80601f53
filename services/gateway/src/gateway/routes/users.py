from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from gateway.auth import CurrentUser
from gateway.schemas import NewUser, PostCollection, User, errors
from microblog_shared.pagination import PageParams, page_params

router = APIRouter(tags=["users"])


@router.post("/users", status_code=201, response_model=User, responses=errors(400, 503),
             summary="Register a new user")
async def create_user(body: NewUser, request: Request):
    return await request.app.state.backends.identity.forward("POST", "/users", request, json=body.model_dump())


@router.get("/users/{user_id}/posts", response_model=PostCollection, responses=errors(401, 404, 503),
            summary="A user's posts, newest first")
async def user_posts(user_id: int, user: CurrentUser, request: Request,
                     page: Annotated[PageParams, Depends(page_params)]):
    return await request.app.state.backends.timeline.forward(
        "GET", f"/users/{user_id}/posts", request, user_id=user, params=page.model_dump()
    )
