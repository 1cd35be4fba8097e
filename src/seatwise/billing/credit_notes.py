"""Credit notes (R16, R25): money given back is a document of its own at once, spent on the invoices that
follow, and what is left a month later (or at the period's end, if sooner) pays older invoices, then is
refunded."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from seatwise.billing import settlement, taxes
from seatwise.billing.models import Charge, CreditNote, CreditNoteCounter, LedgerEntry
from seatwise.core.errors import ErrorCode, NotFound
from seatwise.core.invoicing import (
    InvoiceStatus,
    LedgerKind,
    MethodKind,
    PaymentKind,
    PaymentStatus,
    credit_note_number,
    credit_note_refund_key,
    spread,
)
from seatwise.core.roles import Actor, can_see
from seatwise.core.vat import vat_of
from seatwise.db import insert_or_merge, page
from seatwise.events import service as events
from seatwise.payments.models import Payment
from seatwise.payments.service import usable_methods_at
from seatwise.tax import service as tax


def _take_number(session: Session, *, year: int) -> str:
    """The next credit note number of the year; the counter row stays locked until the commit (R25)."""
    session.execute(insert_or_merge(session, CreditNoteCounter).values(year=year, last=0).on_conflict_do_nothing())
    counter = session.scalars(select(CreditNoteCounter).where(CreditNoteCounter.year == year).with_for_update()).one()
    counter.last += 1
    vendor = tax.get_vendor(session)
    return credit_note_number(year, counter.last, vendor.invoice_prefix if vendor else "SW")


def _entry(note: CreditNote, *, kind: LedgerKind, amount: int, at: datetime) -> LedgerEntry:
    return LedgerEntry(
        org_id=note.org_id,
        at=at,
        kind=kind,
        amount=amount,
        currency=note.currency,
        invoice_id=note.invoice_id,
        credit_note_id=note.id,
    )


def issue(session: Session, *, line: Charge, at: datetime) -> CreditNote | None:
    """The credit note of a credit that corrects an invoiced charge, with that charge's VAT (R24, R25). None
    when the charge is not invoiced yet: the credit is then a line of the invoice that bills both."""
    session.flush()
    corrected = taxes.corrections(session, credits=[line]).get(line.id)
    if corrected is None:
        return None
    key = taxes.stored(corrected.vat_category, corrected.vat_rate)
    net = -line.amount
    vat = 0 if key is None else vat_of(net, key[1])
    versions = tax.current_versions(session, org_ids=[line.org_id])
    note = CreditNote(
        number=_take_number(session, year=at.year),
        org_id=line.org_id,
        invoice_id=corrected.invoice_id,
        issued_at=at,
        currency=line.currency,
        net=net,
        vat=vat,
        total=net + vat,
        spent=0,
        refunded=0,
        settle_on=line.bill_on,
        vendor_version_id=versions.vendor_id,
        billing_profile_id=versions.profile_ids.get(line.org_id),
    )
    session.add(note)
    session.flush()
    line.credit_note_id = note.id
    for column, value in taxes.columns(key).items():
        setattr(line, column, value)
    session.add(_entry(note, kind=LedgerKind.CREDIT, amount=-net, at=at))
    if vat:
        session.add(_entry(note, kind=LedgerKind.VAT, amount=-vat, at=at))
    events.publish(
        session,
        type="credit_note.issued",
        org_id=note.org_id,
        data={"object": "credit_note", **events.snapshot(note)},
        at=at,
    )
    return note


def settle_due(session: Session, *, at: datetime, limit: int) -> int | None:
    """Settle the credit notes whose day has come (R16): what is left pays older unpaid invoices, oldest
    first, and the rest is refunded to the payment method. None when none is due at `at`."""
    notes = list(
        session.scalars(
            select(CreditNote).where(CreditNote.settle_on == at).order_by(CreditNote.id).limit(limit).with_for_update()
        )
    )
    if not notes:
        return None
    org_ids = sorted({note.org_id for note in notes})
    older = settlement.open_invoices(session, org_ids=org_ids)
    methods = usable_methods_at(session, org_ids=org_ids, at=at)
    refundable = settlement.refundable_charges(session, org_ids=org_ids)
    for note in notes:
        left = note.total - note.spent - note.refunded
        owed = older.get(note.org_id, [])
        parts, refund = spread(left, [invoice.amount_due - invoice.amount_paid for invoice in owed])
        method = methods.get(note.org_id)
        common = dict(
            org_id=note.org_id,
            method_id=method.id if method else None,
            currency=note.currency,
            at=at,
            failure_code=None,
            sent=False,
            reference=None,
            credit_note_id=note.id,
        )
        for invoice, part in zip(owed, parts, strict=True):
            if not part:
                continue
            session.add(
                Payment(
                    **common,
                    invoice_id=invoice.id,
                    kind=PaymentKind.CREDIT,
                    amount=part,
                    status=PaymentStatus.SUCCEEDED,
                )
            )
            invoice.amount_paid += part
            if invoice.amount_paid == invoice.amount_due:
                invoice.status, invoice.paid_at, invoice.next_action_at = InvoiceStatus.PAID, at, None
                events.publish(
                    session,
                    type="invoice.paid",
                    org_id=invoice.org_id,
                    data={"object": "invoice", **events.snapshot(invoice)},
                    at=at,
                )
        by_card = method is not None and MethodKind(method.kind) is MethodKind.CARD
        rows = settlement.refund_rows(
            dict(common, invoice_id=note.invoice_id),
            refund=refund,
            by_card=by_card,
            from_charges=refundable.get(note.org_id, []) if by_card else [],
            key_of=partial(credit_note_refund_key, org_id=note.org_id, number=note.number),
        )
        session.add_all(Payment(**row) for row in rows)
        # The organisation's next credit note in this batch draws on what these refunds leave of its charges.
        drawn = {row["refunds"]: row["amount"] for row in rows if row["refunds"]}
        refundable[note.org_id] = [(ref, left - drawn.get(ref, 0)) for ref, left in refundable.get(note.org_id, [])]
        if refund:  # owed back from now on; its payments say how far it has reached the card
            session.add(_entry(note, kind=LedgerKind.REFUND, amount=refund, at=at))
        note.spent += sum(parts)
        note.refunded = refund
        note.settle_on = None
        events.publish(
            session,
            type="credit.settled",
            org_id=note.org_id,
            data={
                "object": "credit",
                "credit_note_id": note.id,
                "currency": note.currency,
                "refunded": refund,
                "transferred": sum(parts),
            },
            at=at,
        )
    return len(notes)


def get_visible(session: Session, *, credit_note_id: int, actor: Actor) -> CreditNote:
    """A credit note the actor may see: another organisation's answers as a missing one does (R9)."""
    note = session.get(CreditNote, credit_note_id)
    if note is None or not can_see(actor, note.org_id):
        raise NotFound(f"unknown credit note {credit_note_id}", code=ErrorCode.UNKNOWN_CREDIT_NOTE)
    return note


def list_credit_notes(
    session: Session, *, org_id: int, after: int | None = None, limit: int | None = None
) -> list[CreditNote]:
    """An organisation's credit notes, oldest first (after the id `after`, at most `limit`)."""
    return list(
        session.scalars(
            page(select(CreditNote).where(CreditNote.org_id == org_id), CreditNote.id, after=after, limit=limit)
        )
    )


def lines_of(session: Session, *, credit_note_id: int) -> list[Charge]:
    """A credit note's lines, in the order they arose."""
    return list(session.scalars(select(Charge).where(Charge.credit_note_id == credit_note_id).order_by(Charge.id)))


def of_invoices(session: Session, *, invoice_ids: list[int]) -> dict[int, list[CreditNote]]:
    """The credit notes correcting each of these invoices."""
    found: dict[int, list[CreditNote]] = {i: [] for i in invoice_ids}
    for note in session.scalars(
        select(CreditNote).where(CreditNote.invoice_id.in_(invoice_ids)).order_by(CreditNote.id)
    ):
        found[note.invoice_id].append(note)
    return found
