from __future__ import annotations

from fastapi import APIRouter, Request, Response

from gateway.answers import post_written
from gateway.deps import Caller, Page, Services
from gateway.idempotency import IdempotencyKey, kept
from gateway.schemas import NewPost, Post, PostCollection, PostId, checked, errors

router = APIRouter(tags=["posts"])


@router.post(
    "/posts",
    status_code=201,
    response_model=Post,
    response_model_exclude_unset=True,
    responses=errors(400, 401, 422),
    summary="Write a post (1 to 140 characters); answers with X-Consistency-Token",
    description=kept(),
)
async def create_post(
    body: NewPost,
    caller: Caller,
    response: Response,
    services: Services,
    idempotency_key: IdempotencyKey = None,
):
    write = services.posts.call(
        "POST", "/posts", caller=caller, json=body.model_dump(), idempotency_key=idempotency_key
    )
    return checked(await post_written(services, write, caller.user_id), response)


@router.get(
    "/posts/{post_id}",
    response_model=Post,
    response_model_exclude_unset=True,
    responses=errors(401, 404),
    summary="A post",
)
async def get_post(post_id: PostId, caller: Caller, request: Request, services: Services):
    return await services.timeline.forward("GET", f"/posts/{post_id}", request, caller)


@router.put(
    "/posts/{post_id}",
    response_model=Post,
    response_model_exclude_unset=True,
    responses=errors(400, 401, 403, 404, 409),
    summary="Edit your post",
)
async def edit_post(post_id: PostId, body: NewPost, caller: Caller, response: Response, services: Services):
    write = services.posts.call("PUT", f"/posts/{post_id}", caller=caller, json=body.model_dump())
    return checked(await post_written(services, write, caller.user_id), response)


@router.delete("/posts/{post_id}", status_code=204, responses=errors(401, 403, 404, 409), summary="Delete your post")
async def delete_post(post_id: PostId, caller: Caller, request: Request, services: Services):
    return await services.posts.forward("DELETE", f"/posts/{post_id}", request, caller)


@router.get(
    "/timeline",
    response_model=PostCollection,
    response_model_exclude_unset=True,
    responses=errors(400, 401),
    summary="Your home timeline: your posts and those of everyone you follow, newest first",
)
async def home_timeline(caller: Caller, request: Request, services: Services, page: Page):
    return await services.timeline.forward(
        "GET", "/timeline", request, caller, params=page.model_dump(exclude_none=True)
    )


@router.get(
    "/explore",
    response_model=PostCollection,
    response_model_exclude_unset=True,
    responses=errors(400, 401),
    summary="Every post, newest first",
)
async def explore(caller: Caller, request: Request, services: Services, page: Page):
    return await services.timeline.forward(
        "GET", "/explore", request, caller, params=page.model_dump(exclude_none=True)
    )
