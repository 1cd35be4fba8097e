"""Invoices over the JSON API."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Request, Response
from pydantic import Field
from sqlalchemy.orm import Session

from seatwise import db
from seatwise.billing import collection, documents, jobs, service
from seatwise.billing.models import Invoice
from seatwise.billing.schemas import InvoiceOut
from seatwise.core.roles import Actor
from seatwise.deps import DB, MAX_ID, Body, Caller, Id, Page, Pages, answer, page_of
from seatwise.organizations.service import check_visible_org, get_org
from seatwise.payments.gateways import gateway_for

router = APIRouter(prefix="/v1", tags=["billing"])


def _invoices_out(session: Session, invoices: Sequence[Invoice]) -> list[InvoiceOut]:
    ids = [i.id for i in invoices]
    lines, attempts = (
        service.lines_by_invoice(session, invoice_ids=ids),
        service.attempts_by_invoice(session, invoice_ids=ids),
    )
    return [InvoiceOut.of(i, lines[i.id], attempts[i.id]) for i in invoices]


@router.get("/organizations/{org_id}/invoices", operation_id="listInvoices", response_model=Page[InvoiceOut])
def list_invoices(caller: Caller, session: DB, org_id: Id, paging: Pages) -> Page[InvoiceOut]:
    """The organisation's invoices with their lines, oldest first."""
    check_visible_org(org_id=org_id, actor=caller)
    get_org(session, org_id=org_id)
    rows = service.list_invoices(session, org_id=org_id, after=paging.after, limit=paging.fetch)
    return page_of(rows, paging, lambda invoices: _invoices_out(session, invoices))


class PayIn(Body):
    payment_method_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="one of the organisation's cards; default: its default card"
    )


@router.post("/invoices/{invoice_id}/pay", operation_id="payInvoice", response_model=InvoiceOut)
def pay_invoice(caller: Caller, invoice_id: Id, body: PayIn, request: Request) -> Response:
    """Pay an unpaid invoice now with a card on file (R21), charged at once and outside any transaction (R32);
    Global and Billing admins. The answer is the invoice: paid, still open with the declined attempt and its
    reason, or still collecting if the gateway did not answer (the billing run looks it up)."""
    url = request.app.state.database_url
    with db.unit_of_work(url) as session:
        collection.pay_now(
            session,
            invoice_id=invoice_id,
            method_id=body.payment_method_id,
            actor=caller,
            now=request.app.state.clock.now(),
        )
    jobs.collect(url, gateway=gateway_for(url), invoice_id=invoice_id)
    with db.unit_of_work(url) as session:  # the answer is kept with the Idempotency-Key, if one was sent
        return answer(
            session, request, _invoices_out(session, [service.get_invoice(session, invoice_id=invoice_id)])[0]
        )


@router.get("/invoices/{invoice_id}", operation_id="getInvoice", response_model=InvoiceOut)
def get_invoice(caller: Caller, session: DB, invoice_id: Id) -> InvoiceOut:
    """One invoice with its lines; another organisation's answers 404 as a missing one does."""
    return _invoices_out(session, [service.get_visible_invoice(session, invoice_id=invoice_id, actor=caller)])[0]


@router.get(
    "/invoices/{invoice_id}/ubl",
    operation_id="getInvoiceUbl",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "Peppol BIS Billing 3.0 UBL 2.1 XML"}},
)
def get_invoice_ubl(caller: Caller, session: DB, invoice_id: Id) -> Response:
    """The invoice as Peppol BIS Billing 3.0 UBL 2.1 XML (R26); another organisation's answers 404."""
    return _file(session, invoice_id=invoice_id, actor=caller, format="ubl")


@router.get(
    "/invoices/{invoice_id}/pdf",
    operation_id="getInvoicePdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The invoice as PDF"}},
)
def get_invoice_pdf(caller: Caller, session: DB, invoice_id: Id) -> Response:
    """The invoice as PDF with its legal content (R26), in the organisation's invoice language."""
    return _file(session, invoice_id=invoice_id, actor=caller, format="pdf")


def _file(session: Session, *, invoice_id: int, actor: Actor, format: str) -> Response:
    service.get_visible_invoice(session, invoice_id=invoice_id, actor=actor)
    file = documents.as_file(documents.invoice_document(session, invoice_id=invoice_id), format=format)
    return Response(
        file.content,
        media_type=file.media_type,
        headers={"Content-Disposition": f'attachment; filename="{file.filename}"'},
    )
