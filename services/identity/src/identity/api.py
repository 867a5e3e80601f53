"""Identity's internal HTTP API (reached only through the gateway).

Domain and handler errors become JSON errors as `app.py` maps them; routes only translate HTTP to handlers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, HTTPException, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from identity import domain, email_changes, handlers, resets
from identity.adapters import sessions
from identity.deps import BasicCredentials, CallerId, CallerSessionId, Now, OwnUserId, Policy, Store
from microblog_shared.http.idempotency import IdempotencyKey
from microblog_shared.http.text import Text
from microblog_shared.http.views import iso
from microblog_shared.read.consistency import HEADER as CONSISTENCY_HEADER
from microblog_shared.read.consistency import ConsistencyToken

router = APIRouter()

MISSING_FIELDS = "must include username, email and password fields"
# Generous caps keep bodies small; the domain gives the precise limits and messages.
TEXT_CAP = 1024
# The default of a field that may be left out but not sent as null (its type refuses null);
# `model_dump(exclude_unset=True)` never passes it on.
UNSET: Any = None


class NewUser(BaseModel):
    username: Text | None = Field(default=None, max_length=TEXT_CAP)
    email: Text | None = Field(default=None, max_length=TEXT_CAP)
    password: str | None = Field(default=None, max_length=TEXT_CAP)
    about_me: Text = Field(default="", max_length=TEXT_CAP)


class ProfileEdit(BaseModel):
    """Only the fields to change; null is not a value."""

    model_config = ConfigDict(extra="forbid")

    username: Text = Field(default=UNSET, max_length=TEXT_CAP)
    email: Text = Field(default=UNSET, max_length=TEXT_CAP)
    about_me: Text = Field(default=UNSET, max_length=TEXT_CAP)
    current_password: str = Field(default=UNSET, max_length=TEXT_CAP)  # needed (only) to change the email


class EmailConfirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Text = Field(min_length=1, max_length=TEXT_CAP)


class ResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Text = Field(min_length=1, max_length=TEXT_CAP)


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Text = Field(min_length=1, max_length=TEXT_CAP)
    password: str = Field(max_length=TEXT_CAP)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=TEXT_CAP)
    new_password: str = Field(max_length=TEXT_CAP)


class RefreshRequest(BaseModel):
    refresh_token: Text = Field(min_length=1, max_length=TEXT_CAP)


def profile(user: domain.User) -> dict:
    return {
        "id": user.user_id,
        "username": user.username,
        "email": user.email,
        "about_me": user.about_me,
        "last_seen": iso(user.last_seen),
        "registered_at": iso(user.registered_at),
    }


# --- users ----------------------------------------------------------------------------


@router.post("/users", status_code=201)
async def create_user(
    store: Store,
    now: Now,
    response: Response,
    body: Annotated[NewUser | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
):
    """Register a user; a retry with the same Idempotency-Key and username answers the user the key made."""
    if body is None or body.username is None or body.email is None or body.password is None:
        raise HTTPException(400, MISSING_FIELDS)
    registration = domain.Registration(body.username, body.email, body.password, body.about_me)
    appended = await handlers.register_user(store, registration, now, idempotency_key)
    user_id = appended[0].payload["user_id"]
    response.headers["Location"] = f"/api/users/{user_id}"
    response.headers[CONSISTENCY_HEADER] = str(ConsistencyToken.of(appended[0]))
    return profile(await handlers.load_user(store, user_id))


@router.get("/users/{user_id}")
async def get_user(user_id: int, store: Store):
    return profile(await handlers.load_user(store, user_id))


@router.put("/users/{user_id}")
async def edit_user(user_id: OwnUserId, body: ProfileEdit, store: Store, now: Now, policy: Policy, response: Response):
    """200 with the profile; 202 when a new email waits for its link (the profile keeps the old one)."""
    if not body.model_fields_set - {"current_password"}:
        raise HTTPException(400, "send at least one of username, email, about_me")
    changes = domain.ProfileChanges(**body.model_dump(exclude_unset=True, exclude={"current_password"}))
    password = body.current_password if "current_password" in body.model_fields_set else None
    user, appended, pending = await email_changes.edit_profile(store, user_id, changes, password, policy.secret, now)
    response.headers[CONSISTENCY_HEADER] = str(ConsistencyToken.of(appended[0]))  # the UserProfileUpdated
    if pending is None:
        return profile(user)
    response.status_code = 202
    return {**profile(user), "pending_email": pending}


@router.post("/email-changes/confirm", status_code=204)
async def confirm_email(body: EmailConfirmation, store: Store, now: Now, policy: Policy, response: Response):
    appended = await email_changes.confirm(store, body.token, policy.secret, now)
    response.headers[CONSISTENCY_HEADER] = str(ConsistencyToken.of(appended[0]))


@router.post("/users/{user_id}/password", status_code=204)
async def change_password(
    user_id: OwnUserId,
    body: PasswordChange,
    store: Store,
    now: Now,
    policy: Policy,
    x_session_id: Annotated[Text | None, Header(max_length=64)] = None,
):
    await handlers.change_password(store, user_id, body.current_password, body.new_password, x_session_id, policy, now)


@router.post("/users/{user_id}/seen", status_code=204)
async def seen(user_id: int, store: Store, now: Now):
    await handlers.record_seen(store, user_id, now)


# --- tokens and sessions -----------------------------------------------------------------


@router.post("/tokens")
async def create_token(credentials: BasicCredentials, store: Store, now: Now, policy: Policy):
    pair = await handlers.log_in(store, *credentials, policy, now) if credentials else None
    if pair is None:
        raise HTTPException(401, headers={"WWW-Authenticate": 'Basic realm="microblog"'})
    return {"token": pair.token, "refresh_token": pair.refresh_token}


@router.put("/tokens")
async def refresh_token(body: RefreshRequest, store: Store, now: Now, policy: Policy):
    pair = await handlers.refresh(store, body.refresh_token, policy, now)
    return {"token": pair.token, "refresh_token": pair.refresh_token}


@router.delete("/tokens", status_code=204)
async def revoke_token(user_id: CallerId, session_id: CallerSessionId, store: Store, now: Now, policy: Policy):
    await handlers.revoke_session(store, session_id, "logout", policy, now, owner=user_id)


@router.get("/sessions/revoked")
async def revoked_sessions(store: Store, now: Now):
    revoked = await sessions.revoked_sessions(store.engine, now)
    return [{**entry, "tokens_expire_at": iso(entry["tokens_expire_at"])} for entry in revoked]


@router.get("/sessions/{session_id}")
async def get_session(session_id: Annotated[Text, Path(max_length=64)], store: Store, now: Now):
    session = await sessions.load(store.engine, session_id)
    if session is None:
        raise HTTPException(404, "no such session")
    return {"session_id": session.session_id, "user_id": session.user_id, "active": session.active(now)}


@router.post("/password-resets", status_code=202)
async def request_password_reset(
    body: ResetRequest, store: Store, now: Now, policy: Policy, idempotency_key: IdempotencyKey = None
):
    """202 whether or not an account has this address: nobody learns which addresses are known.

    A retry with the same Idempotency-Key and address mails nothing more.
    """
    await resets.request(store, body.email, policy.secret, now, idempotency_key)


@router.post("/password-resets/confirm", status_code=204)
async def reset_password(body: PasswordReset, store: Store, now: Now, policy: Policy):
    await resets.reset(store, body.token, body.password, policy, now)
