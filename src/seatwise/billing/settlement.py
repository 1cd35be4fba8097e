"""Where money given back goes (R16, R25): what credit notes pay of invoices, what a leftover credit pays of older
unpaid invoices, and the refund rows of the rest, drawn from the card charges that can return it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from seatwise.billing.models import CreditNote, Invoice
from seatwise.core.invoicing import InvoiceStatus, PaymentKind, PaymentStatus, refund_parts, spread
from seatwise.payments.models import Payment


def refund_rows(
    common: dict[str, Any],
    *,
    refund: int,
    by_card: bool,
    from_charges: list[tuple[str, int]],
    key_of: Callable[..., str],  # called with the part's number, from 1
) -> list[dict[str, Any]]:
    """The payment rows of a refund: to the card, drawn from its earlier charges newest first and each part
    answered by the gateway later (R32); otherwise one paid back by bank transfer, outside Seatwise."""
    if not refund:
        return []
    if not by_card:
        return [
            dict(common, kind=PaymentKind.REFUND, amount=refund, status=PaymentStatus.SUCCEEDED, key=None, refunds=None)
        ]
    amounts = refund_parts(refund, [left for _, left in from_charges])
    references = [reference for reference, _ in from_charges] + [None] * len(amounts)
    return [
        dict(
            common,
            kind=PaymentKind.REFUND,
            amount=amount,
            status=PaymentStatus.PENDING,
            key=key_of(part=part),
            refunds=reference,
        )
        for part, (amount, reference) in enumerate(zip(amounts, references, strict=False), start=1)
        if amount
    ]


def unsettled_credit_notes(session: Session, *, org_ids: list[int]) -> dict[int, list[CreditNote]]:
    """Credit notes of these organisations with money left to spend, oldest first, locked."""
    found: dict[int, list[CreditNote]] = defaultdict(list)
    if org_ids:
        for note in session.scalars(
            select(CreditNote)
            .where(CreditNote.org_id.in_(org_ids), CreditNote.settle_on.is_not(None))
            .order_by(CreditNote.id)
            .with_for_update()
        ):
            found[note.org_id].append(note)
    return found


def spend(notes: list[CreditNote], due: int) -> list[tuple[CreditNote, int]]:
    """What each credit note pays of an invoice asking `due`, oldest first (R16); the notes record it."""
    parts, left = [], [note.total - note.spent - note.refunded for note in notes]
    for part, note in zip(spread(due, left)[0], notes, strict=True):
        if part:
            note.spent += part
            if note.spent + note.refunded == note.total:
                note.settle_on = None
            parts.append((note, part))
    return parts


def open_invoices(session: Session, *, org_ids: list[int]) -> dict[int, list[Invoice]]:
    """Unpaid invoices of these organisations, oldest first, locked."""
    found: dict[int, list[Invoice]] = defaultdict(list)
    if org_ids:
        for invoice in session.scalars(
            select(Invoice)
            .where(Invoice.org_id.in_(org_ids), Invoice.status == InvoiceStatus.OPEN)
            .order_by(Invoice.id)
            .with_for_update()
        ):
            found[invoice.org_id].append(invoice)
    return found


def refundable_charges(session: Session, *, org_ids: list[int]) -> dict[int, list[tuple[str, int]]]:
    """Per organisation, its card charges at the gateway newest first, with what each can still return."""
    found: dict[int, list[tuple[str, int]]] = defaultdict(list)
    if not org_ids:
        return found
    returned = dict(
        session.execute(
            select(Payment.refunds, func.sum(Payment.amount))
            .where(
                Payment.org_id.in_(org_ids),
                Payment.kind == PaymentKind.REFUND,
                Payment.refunds.is_not(None),
                Payment.status != PaymentStatus.FAILED,
            )
            .group_by(Payment.refunds)
        ).all()
    )
    for org_id, reference, amount in session.execute(
        select(Payment.org_id, Payment.reference, Payment.amount)
        .where(
            Payment.org_id.in_(org_ids),
            Payment.kind == PaymentKind.PAYMENT,
            Payment.status == PaymentStatus.SUCCEEDED,
            Payment.reference.is_not(None),
        )
        .order_by(Payment.id.desc())
    ):
        if reference is not None and (left := amount - returned.get(reference, 0)) > 0:
            found[org_id].append((reference, left))
    return found
