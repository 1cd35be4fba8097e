"""Invoices and billing runs over the JSON API."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from seatwise import db
from seatwise.billing import service
from seatwise.billing.schemas import InvoiceOut
from seatwise.clock import parse_instant
from seatwise.core.errors import BadInput, Forbidden
from seatwise.deps import DB, Body, Caller, Id, Page, Pages, page_of
from seatwise.organizations.service import check_visible_org, get_org

router = APIRouter(prefix="/v1", tags=["billing"])


def _invoices_out(session, invoices) -> list[InvoiceOut]:
    lines = service.lines_by_invoice(session, invoice_ids=[i.id for i in invoices])
    return [InvoiceOut.of(i, lines[i.id]) for i in invoices]


@router.get("/organizations/{org_id}/invoices", operation_id="listInvoices", response_model=Page[InvoiceOut])
def list_invoices(caller: Caller, session: DB, org_id: Id, paging: Pages) -> Page[InvoiceOut]:
    """The organisation's invoices with their lines, oldest first."""
    check_visible_org(org_id=org_id, actor=caller)
    get_org(session, org_id=org_id)
    rows = service.list_invoices(session, org_id=org_id, after=paging.after, limit=paging.fetch)
    return page_of(rows, paging, lambda invoices: _invoices_out(session, invoices))


@router.get("/invoices/{invoice_id}", operation_id="getInvoice", response_model=InvoiceOut)
def get_invoice(caller: Caller, session: DB, invoice_id: Id) -> InvoiceOut:
    """One invoice with its lines; another organisation's answers 404 as a missing one does."""
    return _invoices_out(session, [service.get_visible_invoice(session, invoice_id=invoice_id, actor=caller)])[0]


class BillingRunIn(Body):
    as_of: str | None = Field(default=None, max_length=40, examples=["2026-12-01T00:00:00Z"],
                              description="ISO-8601, read as the CLI's --as-of is; default: now")


class BillingRunOut(BaseModel):
    as_of: datetime
    subscriptions: int
    transitions: dict[str, int]
    invoices: int
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
    if as_of > now:
        raise BadInput(f"as_of {as_of.isoformat()} is later than now ({now.isoformat()}): expected a time up to now",
                       code="as_of_in_future")
    summary = service.RunSummary(as_of=as_of)
    while not summary.done:
        with db.unit_of_work(request.app.state.database_url) as session:
            summary.add(service.run_step(session, as_of=as_of))
    return BillingRunOut(**summary.as_dict())
