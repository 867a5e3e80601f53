"""Identity's internal HTTP API (reached only through the gateway)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, Field

from identity import domain, handlers
from identity.adapters import users
from microblog_shared.consistency import HEADER as CONSISTENCY_HEADER, ConsistencyToken

router = APIRouter()
basic = HTTPBasic(auto_error=False)


class NewUser(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    email: str = Field(min_length=3, max_length=120)
    password: str = Field(min_length=1, max_length=256)
    about_me: str = Field(default="", max_length=domain.MAX_ABOUT_ME)


@router.post("/users", status_code=201)
async def create_user(body: NewUser, request: Request, response: Response):
    try:
        appended = await handlers.register_user(request.app.state.store, domain.Registration(**body.model_dump()))
    except domain.InvalidRegistration as exc:
        raise HTTPException(400, str(exc)) from None
    user_id = appended[0].payload["user_id"]
    response.headers["Location"] = f"/api/users/{user_id}"
    response.headers[CONSISTENCY_HEADER] = str(ConsistencyToken.of(appended[0]))
    return user_view(await users.find_by_id(request.app.state.engine, user_id), include_email=True)


@router.get("/users/{user_id}")
async def get_user(user_id: int, request: Request):
    user = await users.find_by_id(request.app.state.engine, user_id)
    if user is None:
        raise HTTPException(404, "no such user")
    return user_view(user, include_email=False)


@router.post("/tokens")
async def create_token(request: Request, credentials: Annotated[HTTPBasicCredentials | None, Depends(basic)]):
    unauthorized = HTTPException(401, headers={"WWW-Authenticate": 'Basic realm="microblog"'})
    if credentials is None:
        raise unauthorized
    settings = request.app.state.settings
    token = await handlers.issue_token(
        request.app.state.engine, credentials.username, credentials.password,
        settings.jwt_secret, settings.access_token_minutes,
    )
    if token is None:
        raise unauthorized
    return {"token": token}


def user_view(user: users.UserRow, include_email: bool) -> dict:
    view = {"id": user.id, "username": user.username, "about_me": user.about_me}
    if include_email:
        view["email"] = user.email
    return view
