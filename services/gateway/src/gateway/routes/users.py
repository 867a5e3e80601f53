from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request

from gateway.answers import user_written
from gateway.deps import AuthAttempt, Caller, Page, Services
from gateway.idempotency import IdempotencyKey, harmless, kept
from gateway.schemas import (
    NewUser,
    PasswordChange,
    PostCollection,
    User,
    UserAsWritten,
    UserCollection,
    UserId,
    UserUpdate,
    errors,
)
from microblog_shared.http.pagination import PageParams
from microblog_shared.http.paths import segment
from microblog_shared.http.text import Text

router = APIRouter(tags=["users"])


# Registration and profile changes answer unchecked (see schemas.checked), in one of two shapes (gateway.answers).
@router.post(
    "/users",
    status_code=201,
    response_model=User | UserAsWritten,
    responses=errors(400, 422, 429),
    dependencies=[AuthAttempt],
    summary="Register a new user",
    description=kept("for the same username")
    + " A retried registration answers the first 201 and the same user, not a taken username.",
)
async def create_user(body: NewUser, services: Services, idempotency_key: IdempotencyKey = None):
    write = await services.identity.call(
        "POST", "/users", json=body.model_dump(exclude_none=True), idempotency_key=idempotency_key
    )
    return await user_written(services, write, viewer_id=None)


@router.get(
    "/users",
    response_model=UserCollection,
    response_model_exclude_unset=True,
    responses=errors(400, 401),
    summary="All users",
)
async def list_users(caller: Caller, request: Request, services: Services, page: Page):
    return await services.timeline.forward("GET", "/users", request, caller, params=page_query(page))


@router.get(
    "/me",
    response_model=User,
    response_model_exclude_unset=True,
    responses=errors(401),
    summary="The caller, with their email",
)
async def me(caller: Caller, request: Request, services: Services):
    return await services.timeline.forward("GET", f"/users/{caller.user_id}", request, caller)


@router.get(
    "/users/by-name/{username}",
    response_model=User,
    response_model_exclude_unset=True,
    responses=errors(401, 404),
    summary="A user by username (case-insensitive)",
)
async def user_by_name(
    username: Annotated[Text, Path(max_length=64)],
    caller: Caller,
    request: Request,
    services: Services,
):
    return await services.timeline.forward("GET", f"/users/by-name/{segment(username)}", request, caller)


@router.get(
    "/users/{user_id}",
    response_model=User,
    response_model_exclude_unset=True,
    responses=errors(401, 404),
    summary="A user",
)
async def get_user(user_id: UserId, caller: Caller, request: Request, services: Services):
    return await services.timeline.forward("GET", f"/users/{user_id}", request, caller)


@router.put(
    "/users/{user_id}",
    response_model=User | UserAsWritten,
    responses={
        202: {"model": User | UserAsWritten, "description": "A new email waits for its link; the rest is changed"},
        **errors(400, 401, 403, 409),
    },
    summary="Change your username, email or about me (only the fields given)",
    description="A new email needs `current_password`: the address is mailed a link "
    "(POST /api/email_confirmation applies it) and the old one a notice; until then the profile keeps the old one.",
)
async def update_user(user_id: UserId, body: UserUpdate, caller: Caller, services: Services):
    if caller.user_id != user_id:
        raise HTTPException(403, "you can only change your own profile")
    write = await services.identity.call(
        "PUT", f"/users/{user_id}", caller=caller, json=body.model_dump(exclude_none=True)
    )
    return await user_written(services, write, viewer_id=caller.user_id)


@router.post(
    "/users/{user_id}/password",
    status_code=204,
    responses=errors(400, 401, 403),
    summary="Change your password (your other sessions are signed out)",
    description=harmless("a retry sets nothing twice (the old password it sends no longer matches: a 400)."),
)
async def change_password(
    user_id: UserId,
    body: PasswordChange,
    caller: Caller,
    request: Request,
    services: Services,
    idempotency_key: IdempotencyKey = None,
):
    if caller.user_id != user_id:
        raise HTTPException(403, "you can only change your own password")
    return await services.identity.forward(
        "POST", f"/users/{user_id}/password", request, caller, json=body.model_dump()
    )


@router.get(
    "/users/{user_id}/followers",
    response_model=UserCollection,
    response_model_exclude_unset=True,
    responses=errors(400, 401, 404),
    summary="Who follows a user, the latest first",
)
async def followers(user_id: UserId, caller: Caller, request: Request, services: Services, page: Page):
    return await services.timeline.forward(
        "GET", f"/users/{user_id}/followers", request, caller, params=page_query(page)
    )


@router.get(
    "/users/{user_id}/followed",
    response_model=UserCollection,
    response_model_exclude_unset=True,
    responses=errors(400, 401, 404),
    summary="Whom a user follows, the latest first",
)
async def followed(user_id: UserId, caller: Caller, request: Request, services: Services, page: Page):
    return await services.timeline.forward(
        "GET", f"/users/{user_id}/followed", request, caller, params=page_query(page)
    )


@router.post(
    "/users/{user_id}/follow",
    status_code=204,
    responses=errors(400, 401, 404),
    summary="Follow a user (idempotent)",
    description=harmless("following someone you follow changes nothing, so a retry adds no second follow."),
)
async def follow(
    user_id: UserId, caller: Caller, request: Request, services: Services, idempotency_key: IdempotencyKey = None
):
    return await services.social_graph.forward("POST", f"/users/{user_id}/follow", request, caller)


@router.delete(
    "/users/{user_id}/follow", status_code=204, responses=errors(400, 401, 404), summary="Unfollow a user (idempotent)"
)
async def unfollow(user_id: UserId, caller: Caller, request: Request, services: Services):
    return await services.social_graph.forward("DELETE", f"/users/{user_id}/follow", request, caller)


@router.get(
    "/users/{user_id}/posts",
    response_model=PostCollection,
    response_model_exclude_unset=True,
    responses=errors(400, 401, 404),
    summary="A user's posts, newest first",
)
async def user_posts(user_id: UserId, caller: Caller, request: Request, services: Services, page: Page):
    return await services.timeline.forward("GET", f"/users/{user_id}/posts", request, caller, params=page_query(page))


def page_query(page: PageParams) -> dict:
    return page.model_dump(exclude_none=True)
