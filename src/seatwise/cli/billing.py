"""`seatwise invoice` and `seatwise ledger`: invoices, payments received, and the books."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from seatwise.billing import collection, documents, jobs
from seatwise.billing import ledger as books
from seatwise.billing import service as billing
from seatwise.billing.models import Invoice
from seatwise.billing.schemas import InvoiceOut, LedgerEntryOut
from seatwise.cli.common import Ctx, OrgId, command, group
from seatwise.cli.output import Out
from seatwise.core.errors import ErrorCode, SeatwiseError
from seatwise.organizations import service as organizations
from seatwise.payments.gateways import gateway_for

invoices = group("Invoices and payments received.")
ledger = group("The ledger of money movements.")

InvoiceId = Annotated[int, typer.Argument(metavar="ID", help="Invoice id.")]


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
                f"refunded {invoice.refunded} {invoice.currency}; due {invoice.due_at.date()}",
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
    format: Annotated[str, typer.Option("--format", help="ubl (Peppol BIS 3.0 UBL 2.1 XML) or pdf.")],
    output: Annotated[
        Path | None, typer.Option("--output", help="File to write; without it the document goes to stdout.")
    ] = None,
) -> Out:
    """Export an invoice as its legal document (R26): UBL XML or PDF."""
    documents.check_format(format)
    with ctx.read() as session:
        file = documents.as_file(documents.invoice_document(session, invoice_id=invoice_id), format=format)
    if output is None:
        return Out(None, raw=file.content)
    output.write_bytes(file.content)
    written = {"invoice_id": invoice_id, "format": format, "file": str(output), "bytes": len(file.content)}
    return Out(written, text=f"wrote {file.filename} ({len(file.content)} bytes) to {output}")


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
