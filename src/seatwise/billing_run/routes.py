"""Billing runs over the JSON API: the operator performs what is due."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from seatwise.billing_run import jobs
from seatwise.billing_run.service import check_as_of
from seatwise.clock import parse_instant
from seatwise.core.errors import Forbidden
from seatwise.deps import Body, Caller

router = APIRouter(prefix="/v1", tags=["billing"])


class BillingRunIn(Body):
    as_of: str | None = Field(
        default=None,
        max_length=40,
        examples=["2026-12-01T00:00:00Z"],
        description="ISO-8601, read as the CLI's --as-of is; default: now",
    )


class BillingRunOut(BaseModel):
    as_of: datetime
    subscriptions: int
    transitions: dict[str, int]
    invoices: int
    credit_notes_settled: int  # their money left, set against older invoices or refunded (R16)
    payments: dict[str, int]
    invoiced: dict[str, str]  # currency -> amount due, as a decimal string


@router.post("/billing-runs", operation_id="createBillingRun", response_model=BillingRunOut)
def billing_run(caller: Caller, body: BillingRunIn, request: Request) -> BillingRunOut:
    """Perform everything due up to `as_of` (R19), one commit per step so that it resumes if cut (R20);
    the operator only."""
    if not caller.is_operator:
        raise Forbidden("only the operator runs billing")
    now = request.app.state.clock.now()
    as_of = now if body.as_of is None else parse_instant(body.as_of, what="as_of")
    check_as_of(as_of=as_of, now=now)
    return BillingRunOut(**jobs.run_to_end(request.app.state.database_url, as_of=as_of).as_dict())
