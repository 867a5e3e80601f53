"""The notifier's internal API: notifications (behind the gateway) and error reports (from it).

Notification reads first honour the caller's consistency token (bounded wait).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from microblog_shared.http.readapi import answer, consistent
from notifier import queries
from notifier.deps import CallerId, Engine, Reads, Settings
from notifier.errors import report_error
from notifier.mails import ErrorReport

router = APIRouter()

# Unix seconds; NaN, infinities and negative moments are refused (400) before any query.
Since = Annotated[
    float, Query(ge=0, le=1e11, allow_inf_nan=False, description="only notifications newer than this (unix seconds)")
]


@router.get("/notifications", dependencies=[Depends(consistent)])
async def notifications(user_id: CallerId, request: Request, reads: Reads, since: Since = 0.0):
    """The caller's current notifications newer than `since`, oldest first."""
    async with reads.connect() as conn:
        rows = await queries.notifications_since(conn, user_id, since)
    return answer(request, rows)


class ReportedError(BaseModel):
    service: str = Field(default="gateway", max_length=64)
    method: str = Field(max_length=16)
    path: str = Field(max_length=2048)
    status: int = Field(ge=500, le=599)
    correlation_id: str = Field(default="", max_length=64)
    error: str = Field(default="", max_length=4000)
    traceback: str = Field(default="", max_length=20000)


@router.post("/errors", status_code=202)
async def errors(body: ReportedError, engine: Engine, settings: Settings):
    """A 500 the gateway answered: mailed to the admins (alike errors once per window, a few an hour)."""
    outcome = await report_error(engine, settings, ErrorReport(**body.model_dump()))
    return JSONResponse({"outcome": outcome}, status_code=202)
