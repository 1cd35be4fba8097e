"""The ledger (R18): every money movement, and the proof that the books balance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable, func, select
from sqlalchemy.orm import Session

from seatwise.billing.models import Charge, CreditNote, Invoice, LedgerEntry
from seatwise.core.invoicing import (
    InvoiceStatus,
    LedgerKind,
    PaymentKind,
    PaymentStatus,
)
from seatwise.payments.models import Payment


def ledger_entries(session: Session, *, org_id: int) -> list[LedgerEntry]:
    """An organisation's ledger, oldest first."""
    return list(session.scalars(select(LedgerEntry).where(LedgerEntry.org_id == org_id).order_by(LedgerEntry.id)))


@dataclass(frozen=True)
class Imbalance:
    """One way an organisation's books do not add up."""

    org_id: int
    what: str
    expected: int
    found: int


def check_ledger(session: Session) -> list[Imbalance]:
    """Prove the books (R18): per organisation the ledger equals what open invoices still ask for less what
    credit notes still hold; per invoice and per credit note the lines, VAT, payments, refunds and ledger
    entries each agree with its totals (R24, R25)."""
    problems = []
    ledger = dict(
        session.execute(select(LedgerEntry.org_id, func.sum(LedgerEntry.amount)).group_by(LedgerEntry.org_id)).all()
    )
    owed = dict(
        session.execute(
            select(Invoice.org_id, func.sum(Invoice.amount_due - Invoice.amount_paid))
            .where(Invoice.status != InvoiceStatus.PAID)
            .group_by(Invoice.org_id)
        ).all()
    )
    for org_id, held in session.execute(
        select(CreditNote.org_id, func.sum(CreditNote.total - CreditNote.spent - CreditNote.refunded)).group_by(
            CreditNote.org_id
        )
    ):
        owed[org_id] = (owed.get(org_id) or 0) - held
    for org_id in sorted(set(ledger) | set(owed)):
        if (ledger.get(org_id) or 0) != (owed.get(org_id) or 0):
            problems.append(
                Imbalance(org_id, "ledger balance vs open invoices", owed.get(org_id) or 0, ledger.get(org_id) or 0)
            )

    def sums(query: Executable) -> dict[tuple[Any, ...], int]:
        return {tuple(row[:-1]): row[-1] for row in session.execute(query)}

    charged = Charge.amount > 0
    lines = sums(
        select(Charge.invoice_id, charged, func.sum(Charge.amount))
        .where(Charge.invoice_id.is_not(None))
        .group_by(Charge.invoice_id, charged)
    )
    moved = sums(
        select(Payment.invoice_id, Payment.kind, func.sum(Payment.amount))
        .where(Payment.status == PaymentStatus.SUCCEEDED)
        .group_by(Payment.invoice_id, Payment.kind)
    )
    # A refund is owed from its invoice on; its payments may still be on their way to the card (R32).
    owed_back = sums(
        select(Payment.invoice_id, func.sum(Payment.amount))
        .where(Payment.kind == PaymentKind.REFUND, Payment.status != PaymentStatus.FAILED)
        .where(Payment.credit_note_id.is_(None))
        .group_by(Payment.invoice_id)
    )
    entries = sums(
        select(LedgerEntry.invoice_id, LedgerEntry.kind, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.credit_note_id.is_(None))
        .group_by(LedgerEntry.invoice_id, LedgerEntry.kind)
    )
    for invoice in session.scalars(select(Invoice).order_by(Invoice.id)):
        i = invoice.id
        leftover = invoice.refunded + invoice.transferred
        charges, credits = lines.get((i, True), 0), lines.get((i, False), 0)
        checks = [
            ("lines vs net", invoice.net, charges + credits),
            (
                "net + VAT vs total − credit − leftover",
                invoice.total - invoice.credit_applied - leftover,
                invoice.net + invoice.vat,
            ),
            ("amount due vs total − credit", invoice.total - invoice.credit_applied, invoice.amount_due),
            (
                "paid vs payments and credits",
                invoice.amount_paid,
                moved.get((i, PaymentKind.PAYMENT), 0) + moved.get((i, PaymentKind.CREDIT), 0),
            ),
            (
                "status vs amount paid",
                invoice.amount_due if invoice.status == InvoiceStatus.PAID else invoice.amount_paid,
                invoice.amount_paid,
            ),
            ("refunded vs refunds", invoice.refunded, owed_back.get((i,), 0)),
            ("ledger charge vs charged lines", charges, entries.get((i, LedgerKind.CHARGE), 0)),
            ("ledger credit vs credited lines", credits, entries.get((i, LedgerKind.CREDIT), 0)),
            ("ledger VAT vs VAT", invoice.vat, entries.get((i, LedgerKind.VAT), 0)),
            ("ledger refund vs refunds", owed_back.get((i,), 0), entries.get((i, LedgerKind.REFUND), 0)),
            (
                "ledger payment vs payments",
                -moved.get((i, PaymentKind.PAYMENT), 0),
                entries.get((i, LedgerKind.PAYMENT), 0),
            ),
        ]
        problems += [
            Imbalance(invoice.org_id, f"invoice {invoice.number}: {what}", expected, found)
            for what, expected, found in checks
            if expected != found
        ]
    return problems + _check_credit_notes(session, sums)


def _check_credit_notes(session: Session, sums: Any) -> list[Imbalance]:
    """Per credit note (R25): its lines, VAT, what invoices took of it, its refunds and its ledger entries."""
    lines = sums(
        select(Charge.credit_note_id, func.sum(Charge.amount))
        .where(Charge.credit_note_id.is_not(None))
        .group_by(Charge.credit_note_id)
    )
    moved = sums(
        select(Payment.credit_note_id, Payment.kind, func.sum(Payment.amount))
        .where(Payment.credit_note_id.is_not(None), Payment.status != PaymentStatus.FAILED)
        .group_by(Payment.credit_note_id, Payment.kind)
    )
    entries = sums(
        select(LedgerEntry.credit_note_id, LedgerEntry.kind, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.credit_note_id.is_not(None))
        .group_by(LedgerEntry.credit_note_id, LedgerEntry.kind)
    )
    problems = []
    for note in session.scalars(select(CreditNote).order_by(CreditNote.id)):
        n = note.id
        left = note.total - note.spent - note.refunded
        checks = [
            ("lines vs net", -note.net, lines.get((n,), 0)),
            ("net + VAT vs total", note.total, note.net + note.vat),
            ("spent vs credit payments", note.spent, moved.get((n, PaymentKind.CREDIT), 0)),
            ("refunded vs refunds", note.refunded, moved.get((n, PaymentKind.REFUND), 0)),
            ("left vs settled", 0 if note.settle_on is None else left, left),
            ("ledger credit vs net", -note.net, entries.get((n, LedgerKind.CREDIT), 0)),
            ("ledger VAT vs VAT", -note.vat, entries.get((n, LedgerKind.VAT), 0)),
            ("ledger refund vs refunds", note.refunded, entries.get((n, LedgerKind.REFUND), 0)),
        ]
        problems += [
            Imbalance(note.org_id, f"credit note {note.number}: {what}", expected, found)
            for what, expected, found in checks
            if expected != found
        ]
    return problems
