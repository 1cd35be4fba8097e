"""Invoices and credit notes over the JSON API."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Request, Response
from pydantic import Field
from sqlalchemy.orm import Session

from seatwise import db
from seatwise.billing import collection, credit_notes, documents, jobs, service
from seatwise.billing.models import CreditNote, Invoice
from seatwise.billing.schemas import CreditNoteOut, InvoiceOut
from seatwise.core.documents import LegalDocument
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
    return _download(documents.invoice_document(session, invoice_id=invoice_id), format=format)


def _credit_notes_out(session: Session, notes: Sequence[CreditNote]) -> list[CreditNoteOut]:
    return [
        CreditNoteOut.of(
            note,
            credit_notes.lines_of(session, credit_note_id=note.id),
            service.get_invoice(session, invoice_id=note.invoice_id),
        )
        for note in notes
    ]


@router.get("/organizations/{org_id}/credit-notes", operation_id="listCreditNotes", response_model=Page[CreditNoteOut])
def list_credit_notes(caller: Caller, session: DB, org_id: Id, paging: Pages) -> Page[CreditNoteOut]:
    """The organisation's credit notes (R25) with their lines and the invoices they correct, oldest first."""
    check_visible_org(org_id=org_id, actor=caller)
    get_org(session, org_id=org_id)
    rows = credit_notes.list_credit_notes(session, org_id=org_id, after=paging.after, limit=paging.fetch)
    return page_of(rows, paging, lambda notes: _credit_notes_out(session, notes))


@router.get("/credit-notes/{credit_note_id}", operation_id="getCreditNote", response_model=CreditNoteOut)
def get_credit_note(caller: Caller, session: DB, credit_note_id: Id) -> CreditNoteOut:
    """One credit note with its lines; another organisation's answers 404 as a missing one does."""
    note = credit_notes.get_visible(session, credit_note_id=credit_note_id, actor=caller)
    return _credit_notes_out(session, [note])[0]


@router.get(
    "/credit-notes/{credit_note_id}/ubl",
    operation_id="getCreditNoteUbl",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "Peppol BIS Billing 3.0 UBL 2.1 XML"}},
)
def get_credit_note_ubl(caller: Caller, session: DB, credit_note_id: Id) -> Response:
    """The credit note as Peppol BIS Billing 3.0 UBL 2.1 XML (R26); another organisation's answers 404."""
    return _credit_note_file(session, credit_note_id=credit_note_id, actor=caller, format="ubl")


@router.get(
    "/credit-notes/{credit_note_id}/pdf",
    operation_id="getCreditNotePdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The credit note as PDF"}},
)
def get_credit_note_pdf(caller: Caller, session: DB, credit_note_id: Id) -> Response:
    """The credit note as PDF with its legal content (R26), in the organisation's invoice language."""
    return _credit_note_file(session, credit_note_id=credit_note_id, actor=caller, format="pdf")


def _credit_note_file(session: Session, *, credit_note_id: int, actor: Actor, format: str) -> Response:
    credit_notes.get_visible(session, credit_note_id=credit_note_id, actor=actor)
    return _download(documents.credit_note_document(session, credit_note_id=credit_note_id), format=format)


def _download(doc: LegalDocument, *, format: str) -> Response:
    file = documents.as_file(doc, format=format)
    return Response(
        file.content,
        media_type=file.media_type,
        headers={"Content-Disposition": f'attachment; filename="{file.filename}"'},
    )
