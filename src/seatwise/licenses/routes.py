"""Licences over the JSON API: the number bought, and who holds them (R12, R13)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import Field

from seatwise import db
from seatwise.deps import MAX_ID, Body, Caller, Id
from seatwise.licenses import service
from seatwise.licenses.schemas import AssignmentOut, LicenseChangeOut
from seatwise.organizations.service import get_visible_user
from seatwise.subscriptions import service as subscriptions
from seatwise.subscriptions.routes import changed, locked_now, subscription_out

router = APIRouter(prefix="/v1/subscriptions/{sub_id}", tags=["licences"])


class TotalIn(Body):
    total: int = Field(ge=0, le=1_000_000)


class AssignIn(Body):
    user_id: int = Field(ge=1, le=MAX_ID)


@router.put("/licenses", operation_id="setLicenses", response_model=LicenseChangeOut)
def set_total(caller: Caller, sub_id: Id, body: TotalIn, request: Request) -> Response:
    """Buy or remove licences to reach `total`, charged or credited by the day."""
    with db.unit_of_work(request.app.state.database_url) as session:
        now = locked_now(session, request, sub_id=sub_id, actor=caller)
        change = service.set_total(session, sub_id=sub_id, total=body.total, actor=caller, now=now)
        out = LicenseChangeOut.of(change, subscription=subscription_out(session, change.subscription))
        return changed(session, request, out, change.subscription)


@router.post("/assignments", operation_id="assignLicense", response_model=AssignmentOut, status_code=201)
def assign(caller: Caller, sub_id: Id, body: AssignIn, request: Request) -> Response:
    """Give a user of the organisation one of the subscription's licences."""
    with db.unit_of_work(request.app.state.database_url) as session:
        get_visible_user(session, user_id=body.user_id, actor=caller)
        now = locked_now(session, request, sub_id=sub_id, actor=caller, user_id=body.user_id)
        assignment = service.assign(session, sub_id=sub_id, user_id=body.user_id, actor=caller, now=now)
        out = AssignmentOut(subscription_id=sub_id, user_id=body.user_id, assigned_at=assignment.assigned_at)
        return changed(session, request, out, subscriptions.get(session, sub_id=sub_id), status=201)


@router.delete("/assignments/{user_id}", operation_id="unassignLicense", status_code=204)
def unassign(caller: Caller, sub_id: Id, user_id: Id, request: Request) -> Response:
    """Take a user's licence back; the seat stays bought."""
    with db.unit_of_work(request.app.state.database_url) as session:
        get_visible_user(session, user_id=user_id, actor=caller)
        now = locked_now(session, request, sub_id=sub_id, actor=caller, user_id=user_id)
        service.unassign(session, sub_id=sub_id, user_id=user_id, actor=caller, now=now)
        return changed(session, request, None, subscriptions.get(session, sub_id=sub_id), status=204)
