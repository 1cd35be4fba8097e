"""`seatwise invoice`, `seatwise credit-note` and `seatwise ledger`: invoices, payments received, credit notes,
and the books."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from seatwise.billing import collection, credit_notes, documents, jobs
from seatwise.billing import ledger as books
from seatwise.billing import service as billing
from seatwise.billing.models import CreditNote, Invoice
from seatwise.billing.schemas import CreditNoteOut, InvoiceOut, LedgerEntryOut
from seatwise.cli.common import Ctx, OrgId, command, group
from seatwise.cli.output import Out
from seatwise.core.errors import ErrorCode, SeatwiseError
from seatwise.core.roles import OPERATOR
from seatwise.organizations import service as organizations
from seatwise.payments.gateways import gateway_for

invoices = group("Invoices and payments received.")
credit_note = group("Credit notes: money given back, each correcting an invoice (R25).")
ledger = group("The ledger of money movements.")

InvoiceId = Annotated[int, typer.Argument(metavar="ID", help="Invoice id.")]
CreditNoteId = Annotated[int, typer.Argument(metavar="ID", help="Credit note id.")]
OrgArg = Annotated[int, typer.Argument(metavar="ORG", help="Organisation id.")]
Format = Annotated[str, typer.Option("--format", help="ubl (Peppol BIS 3.0 UBL 2.1 XML) or pdf.")]
Output = Annotated[Path | None, typer.Option("--output", help="File to write; without it the document goes to stdout.")]


def _invoice_out(session: Session, invoice: Invoice) -> InvoiceOut:
    attempts = billing.attempts_by_invoice(session, invoice_ids=[invoice.id])[invoice.id]
    return InvoiceOut.of(invoice, billing.lines_of(session, invoice_id=invoice.id), attempts)


@command(invoices, "list")
def invoice_list(ctx: Ctx, org: OrgId) -> Out:
    """List an organisation's invoices."""
    with ctx.read() as session:
        organizations.get_org(session, org_id=org)
        rows = [_invoice_out(session, i) for i in billing.list_invoices(session, org_id=org)]
    if ctx.json:
        return Out(rows)
    return Out(
        [
            {
                "id": i.id,
                "number": i.number,
                "date": i.billing_date.date(),
                "status": i.status,
                "total": i.total,
                "credit": i.credit_applied,
                "due": i.amount_due,
                "refunded": i.refunded,
                "currency": i.currency,
            }
            for i in rows
        ]
    )


@command(invoices, "show")
def invoice_show(ctx: Ctx, invoice_id: InvoiceId) -> Out:
    """Show an invoice with its lines."""
    with ctx.read() as session:
        invoice = _invoice_out(session, billing.get_invoice(session, invoice_id=invoice_id))
    lines = [f"  {line.description}: {line.amount}" for line in invoice.lines]
    return Out(
        invoice,
        text="\n".join(
            [
                f"invoice {invoice.number} of {invoice.billing_date.date()} ({invoice.status}), organisation "
                f"{invoice.org_id}",
                *lines,
                f"  total {invoice.total}, credit applied {invoice.credit_applied}, amount due {invoice.amount_due}, "
                f"paid {invoice.amount_paid}, refunded {invoice.refunded} {invoice.currency}; "
                f"due {invoice.due_at.date()}",
            ]
        ),
    )


@command(invoices, "pay")
def invoice_pay(
    ctx: Ctx,
    invoice_id: InvoiceId,
    as_: Annotated[str, typer.Option("--as", help="Who records it: `operator`, or a user id or e-mail.")] = "operator",
) -> Out:
    """Record a payment received for an open invoice (what non-payment disabled comes back)."""
    with ctx.uow() as session:
        actor = organizations.resolve_actor(session, who=as_)
        return Out(_invoice_out(session, billing.pay_invoice(session, invoice_id=invoice_id, actor=actor, now=ctx.now)))


@command(invoices, "pay-now")
def invoice_pay_now(
    ctx: Ctx,
    invoice_id: InvoiceId,
    method: Annotated[
        int | None,
        typer.Option("--method", help="Payment method id of the card to charge (default: the default card)."),
    ] = None,
    as_: Annotated[str, typer.Option("--as", help="Who pays: `operator`, or a user id or e-mail.")] = "operator",
) -> Out:
    """Charge an unpaid invoice to a card on file now; a decline is shown with its reason and the next retry."""
    with ctx.uow() as session:
        actor = organizations.resolve_actor(session, who=as_)
        collection.pay_now(session, invoice_id=invoice_id, method_id=method, actor=actor, now=ctx.now)
    jobs.collect(ctx.url, gateway=gateway_for(ctx.url), invoice_id=invoice_id)
    with ctx.read() as session:
        invoice = _invoice_out(session, billing.get_invoice(session, invoice_id=invoice_id))
    last = invoice.payments[-1]
    said = {
        "paid": f"invoice {invoice.number} is paid: {last.amount} {invoice.currency} charged to {last.card}",
        "open": f"invoice {invoice.number} is still open: {last.card} was declined ({last.failure_code})"
        + (f"; next retry {invoice.next_retry_at.date()}" if invoice.next_retry_at else ""),
    }
    return Out(invoice, text=said.get(invoice.status, f"invoice {invoice.number}: the gateway has not answered yet"))


@command(invoices, "export")
def invoice_export(
    ctx: Ctx,
    invoice_id: InvoiceId,
    format: Format,
    output: Output = None,
) -> Out:
    """Export an invoice as its legal document (R26): UBL XML or PDF."""
    documents.check_format(format)
    with ctx.read() as session:
        file = documents.as_file(documents.invoice_document(session, invoice_id=invoice_id), format=format)
    return _written(file, output=output, names={"invoice_id": invoice_id, "format": format})


def _written(file: documents.File, *, output: Path | None, names: dict[str, object]) -> Out:
    if output is None:
        return Out(None, raw=file.content)
    output.write_bytes(file.content)
    written = {**names, "file": str(output), "bytes": len(file.content)}
    return Out(written, text=f"wrote {file.filename} ({len(file.content)} bytes) to {output}")


def _credit_note_out(session: Session, note: CreditNote) -> CreditNoteOut:
    corrects = billing.get_invoice(session, invoice_id=note.invoice_id)
    return CreditNoteOut.of(note, credit_notes.lines_of(session, credit_note_id=note.id), corrects)


@command(credit_note, "list")
def credit_note_list(ctx: Ctx, org: OrgArg) -> Out:
    """List an organisation's credit notes."""
    with ctx.read() as session:
        organizations.get_org(session, org_id=org)
        rows = [_credit_note_out(session, n) for n in credit_notes.list_credit_notes(session, org_id=org)]
    if ctx.json:
        return Out(rows)
    return Out(
        [
            {
                "id": n.id,
                "number": n.number,
                "date": n.issued_at.date(),
                "corrects": n.invoice_number,
                "total": n.total,
                "spent": n.spent,
                "refunded": n.refunded,
                "currency": n.currency,
            }
            for n in rows
        ]
    )


@command(credit_note, "show")
def credit_note_show(ctx: Ctx, credit_note_id: CreditNoteId) -> Out:
    """Show a credit note with its lines and the invoice it corrects."""
    with ctx.read() as session:
        note = _credit_note_out(
            session, credit_notes.get_visible(session, credit_note_id=credit_note_id, actor=OPERATOR)
        )
    settles = f"; what is left settles on {note.settle_on.date()}" if note.settle_on else ""
    return Out(
        note,
        text="\n".join(
            [
                f"credit note {note.number} of {note.issued_at.date()}, organisation {note.org_id}, corrects invoice "
                f"{note.invoice_number}",
                *(f"  {line.description}: {line.amount}" for line in note.lines),
                f"  net {note.net}, VAT {note.vat}, total {note.total}, spent {note.spent}, refunded {note.refunded} "
                f"{note.currency}{settles}",
            ]
        ),
    )


@command(credit_note, "export")
def credit_note_export(ctx: Ctx, credit_note_id: CreditNoteId, format: Format, output: Output = None) -> Out:
    """Export a credit note as its legal document (R25, R26): UBL XML or PDF."""
    documents.check_format(format)
    with ctx.read() as session:
        credit_notes.get_visible(session, credit_note_id=credit_note_id, actor=OPERATOR)
        doc = documents.credit_note_document(session, credit_note_id=credit_note_id)
        file = documents.as_file(doc, format=format)
    return _written(file, output=output, names={"credit_note_id": credit_note_id, "format": format})


@command(ledger, "show")
def ledger_show(ctx: Ctx, org: OrgId) -> Out:
    """Show an organisation's ledger: charges, credits, payments and refunds."""
    with ctx.read() as session:
        organizations.get_org(session, org_id=org)
        return Out([LedgerEntryOut.of(e) for e in books.ledger_entries(session, org_id=org)])


@command(ledger, "check")
def ledger_check(ctx: Ctx) -> Out:
    """Prove that every organisation's books balance (R18); exit 1 and list what does not."""
    with ctx.read() as session:
        problems = books.check_ledger(session)
    if problems:
        raise SeatwiseError(
            f"{len(problems)} imbalances: "
            + "; ".join(
                f"organisation {p.org_id} {p.what}: expected {p.expected}, found {p.found}" for p in problems[:20]
            ),
            code=ErrorCode.LEDGER_IMBALANCE,
            detail=[asdict(p) for p in problems],
        )
    return Out({"balanced": True}, text="every organisation balances")
