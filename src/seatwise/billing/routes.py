"""Invoices over the JSON API."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from sqlalchemy.orm import Session

from seatwise.billing import service
from seatwise.billing.models import Invoice
from seatwise.billing.schemas import InvoiceOut
from seatwise.deps import DB, Caller, Id, Page, Pages, page_of
from seatwise.organizations.service import check_visible_org, get_org

router = APIRouter(prefix="/v1", tags=["billing"])


def _invoices_out(session: Session, invoices: Sequence[Invoice]) -> list[InvoiceOut]:
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
