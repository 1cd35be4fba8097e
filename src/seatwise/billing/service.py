"""Invoices and payments (R16, R17, R21): pending lines invoiced with gapless numbers, credits applied first,
cards charged and retried, payments recorded. `seatwise.billing_run` decides when."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from seatwise import bus
from seatwise.billing import settlement, taxes
from seatwise.billing.models import Charge, Invoice, InvoiceCounter, LedgerEntry
from seatwise.core.domain_events import PaymentRecorded
from seatwise.core.errors import ErrorCode, NotFound, Refused
from seatwise.core.invoicing import (
    InvoiceStatus,
    LedgerKind,
    MethodKind,
    PaymentKind,
    PaymentStatus,
    charge_key,
    disable_date,
    due_date,
    invoice_number,
    refund_key,
    settle,
    spread,
)
from seatwise.core.roles import Actor, Permission, can_see, require
from seatwise.core.vat import RateTotal, by_rate
from seatwise.db import bulk_insert, bulk_update, insert_or_merge, page
from seatwise.events import service as events
from seatwise.payments.models import Payment, PaymentMethod
from seatwise.payments.service import usable_methods_at
from seatwise.tax import service as tax


def _take_numbers(session: Session, *, year: int, count: int) -> list[str]:
    """`count` consecutive invoice numbers; the counter row stays locked until the commit (R17)."""
    session.execute(insert_or_merge(session, InvoiceCounter).values(year=year, last=0).on_conflict_do_nothing())
    counter = session.scalars(select(InvoiceCounter).where(InvoiceCounter.year == year).with_for_update()).one()
    first = counter.last + 1
    counter.last += count
    session.flush()
    vendor = tax.get_vendor(session)
    prefix = vendor.invoice_prefix if vendor else "SW"
    return [invoice_number(year, n, prefix) for n in range(first, first + count)]


def _ledger(
    session: Session, invoice: Invoice, *, kind: LedgerKind, amount: int, at: datetime, payment: Payment | None = None
) -> None:
    session.add(
        LedgerEntry(
            org_id=invoice.org_id,
            at=at,
            kind=kind,
            amount=amount,
            currency=invoice.currency,
            invoice_id=invoice.id,
            payment_id=payment.id if payment else None,
        )
    )


@dataclass(frozen=True)
class Issued:
    """What issuing one invoice did, for the run's summary."""

    currency: str
    amount_due: int


def issue_invoices(session: Session, *, org_ids: list[int], at: datetime) -> list[Issued]:
    """Invoice each organisation's pending lines known at `at`, credits first (R16, R17), and collect.

    Lines due by `at` and any other line already known then are taken, so that a credit is
    applied as early as it can be; a credit no charge absorbs settles older unpaid invoices,
    and what is still left is refunded at once. Credit notes not yet settled pay what they can of
    each invoice (R16, R25). Written in bulk: this is the billing run's hot path.
    """
    lines_t, invoices_t, payments_t = Charge.__table__, Invoice.__table__, Payment.__table__
    pending = (
        lines_t.c.invoice_id.is_(None)
        & lines_t.c.credit_note_id.is_(None)
        & ((lines_t.c.created_at <= at) | (lines_t.c.bill_on <= at))
    )
    by_org: dict[int, list] = defaultdict(list)
    c = lines_t.c
    found = session.execute(
        select(c.id, c.org_id, c.subscription_id, c.kind, c.amount, c.period_start, c.currency)
        .where(c.org_id.in_(org_ids), pending)
        .order_by(c.id)
    ).all()
    if not found:
        return []
    keys = dict(zip((line.id for line in found), taxes.line_keys(session, lines=found, on=at.date()), strict=True))
    for line in found:
        by_org[line.org_id].append(line)
    orgs = sorted(by_org)
    totals = {
        org_id: settle([line.amount for line in by_org[org_id]], [keys[line.id] for line in by_org[org_id]])
        for org_id in orgs
    }
    older = settlement.open_invoices(session, org_ids=[o for o in orgs if totals[o].leftover])
    notes = settlement.unsettled_credit_notes(session, org_ids=[o for o in orgs if totals[o].amount_due])
    methods = usable_methods_at(session, org_ids=orgs, at=at)
    refundable = settlement.refundable_charges(session, org_ids=[o for o in orgs if totals[o].leftover])
    versions = tax.current_versions(session, org_ids=orgs)  # both parties as they are now, kept by the invoice (R23)
    invoices, plans, transfers, spent = [], [], [], []
    for org_id, number in zip(orgs, _take_numbers(session, year=at.year, count=len(orgs)), strict=True):
        currency, sums, method = by_org[org_id][0].currency, totals[org_id], methods.get(org_id)
        parts, refund = spread(sums.leftover, [i.amount_due - i.amount_paid for i in older.get(org_id, [])])
        transfers += [(invoice, part) for invoice, part in zip(older.get(org_id, []), parts, strict=True) if part]
        kind = MethodKind(method.kind) if method else None
        due = due_date(issued=at, method=kind)
        by_card = method is not None and kind is MethodKind.CARD
        from_notes = settlement.spend(notes.get(org_id, []), sums.amount_due)
        spent.append(from_notes)
        owed = sums.amount_due - sum(part for _, part in from_notes)
        charged = bool(owed) and by_card
        if owed == 0:
            status, next_action = InvoiceStatus.PAID, None
        elif charged:
            status, next_action = InvoiceStatus.COLLECTING, None  # until the gateway answers (R32)
        else:
            status, next_action = InvoiceStatus.OPEN, disable_date(due=due)
        invoices.append(
            dict(
                number=number,
                org_id=org_id,
                billing_date=at,
                issued_at=at,
                due_at=due,
                currency=currency,
                net=sums.net,
                vat=sums.vat,
                total=sums.total,
                credit_applied=sums.credit_applied,
                amount_due=sums.amount_due,
                amount_paid=sums.amount_due - owed,
                refunded=refund,
                transferred=sums.leftover - refund,
                status=status,
                paid_at=at if status is InvoiceStatus.PAID else None,
                payment_method_id=method.id if method else None,
                attempts=1 if charged else 0,
                next_action_at=next_action,
                vendor_version_id=versions.vendor_id,
                billing_profile_id=versions.profile_ids.get(org_id),
            )
        )
        from_charges = refundable.get(org_id, []) if refund and by_card else []
        plans.append((org_id, currency, sums, refund, method, charged, by_card, from_charges, owed))
    bulk_insert(session, invoices_t, invoices)
    # Ids by number (unique): one query instead of RETURNING, which SQLite runs a row at a time.
    ids_by_number = dict(
        session.execute(
            select(invoices_t.c.number, invoices_t.c.id).where(
                invoices_t.c.number.in_([invoice["number"] for invoice in invoices])
            )
        ).all()
    )
    invoice_ids = [ids_by_number[invoice["number"]] for invoice in invoices]
    # By line id: exactly the lines the totals were made of, even if others arrived meanwhile.
    bulk_update(
        session,
        lines_t,
        [
            {"invoice_id": invoice_id, **taxes.columns(keys[line.id]), "id": line.id}
            for plan, invoice_id in zip(plans, invoice_ids, strict=True)
            for line in by_org[plan[0]]
        ],
    )
    payments = []
    for (org_id, currency, _sums, refund, method, charged, by_card, from_charges, owed), invoice_id, from_notes in zip(
        plans, invoice_ids, spent, strict=True
    ):
        common = dict(
            org_id=org_id,
            invoice_id=invoice_id,
            method_id=method.id if method else None,
            currency=currency,
            at=at,
            failure_code=None,
            sent=False,
            reference=None,
            credit_note_id=None,
        )
        payments += [
            dict(
                common,
                method_id=None,
                kind=PaymentKind.CREDIT,
                amount=part,
                status=PaymentStatus.SUCCEEDED,
                key=None,
                refunds=None,
                credit_note_id=note.id,
            )
            for note, part in from_notes
        ]
        if charged:
            payments.append(
                dict(
                    common,
                    kind=PaymentKind.PAYMENT,
                    amount=owed,
                    status=PaymentStatus.PENDING,
                    key=charge_key(org_id=org_id, billing_date=at, attempt=1),
                    refunds=None,
                )
            )
        payments += settlement.refund_rows(
            common,
            refund=refund,
            by_card=by_card,
            from_charges=from_charges,
            key_of=partial(refund_key, org_id=org_id, billing_date=at),
        )
    for invoice, part in transfers:
        payments.append(
            dict(
                org_id=invoice.org_id,
                invoice_id=invoice.id,
                method_id=None,
                currency=invoice.currency,
                at=at,
                kind=PaymentKind.CREDIT,
                amount=part,
                status=PaymentStatus.SUCCEEDED,
                failure_code=None,
                sent=False,
                reference=None,
                key=None,
                refunds=None,
                credit_note_id=None,
            )
        )
        invoice.amount_paid += part
        if invoice.amount_paid == invoice.amount_due:
            invoice.status, invoice.paid_at, invoice.next_action_at = InvoiceStatus.PAID, at, None
    if payments:
        bulk_insert(session, payments_t, payments)
    ledger, issued = [], []
    outbox = _issue_events(
        invoices, invoice_ids, plans, paid_before=[i for i, _ in transfers if i.status == InvoiceStatus.PAID], at=at
    )
    for (org_id, currency, sums, refund, *_), invoice_id in zip(plans, invoice_ids, strict=True):
        entry = dict(org_id=org_id, at=at, currency=currency, invoice_id=invoice_id, payment_id=None)
        charged_net = sum(line.amount for line in by_org[org_id] if line.amount > 0)
        if charged_net:
            ledger.append(dict(entry, kind=LedgerKind.CHARGE, amount=charged_net))
        if charged_net != sums.net:
            ledger.append(dict(entry, kind=LedgerKind.CREDIT, amount=sums.net - charged_net))
        if sums.vat:
            ledger.append(dict(entry, kind=LedgerKind.VAT, amount=sums.vat))
        if refund:  # owed back from now on; its payments say how far it has reached the card
            ledger.append(dict(entry, kind=LedgerKind.REFUND, amount=refund))
        issued.append(Issued(currency, sums.amount_due))
    bulk_insert(session, LedgerEntry.__table__, ledger)
    events.publish_many(session, outbox)
    return issued


def _issue_events(
    invoices: list[dict],
    invoice_ids: list[int],
    plans: list,
    *,
    paid_before: list[Invoice],
    at: datetime,
) -> list[dict]:
    """The events of issuing invoices: issued, paid (nothing due), a credit settled; and older invoices a
    leftover credit has paid. A card's outcome has its own events, when the gateway has answered."""
    found: list[dict] = []

    def add(type_: str, org_id: int, data: dict) -> None:
        found.append(dict(org_id=org_id, type=type_, occurred_at=at, data=data))

    def record(row: dict) -> dict:
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}

    for invoice, invoice_id, plan in zip(invoices, invoice_ids, plans, strict=True):
        org_id, currency, sums, refund, *_ = plan
        data = {"object": "invoice", "id": invoice_id, **record(invoice)}
        add("invoice.issued", org_id, data)
        if invoice["status"] == InvoiceStatus.PAID:
            add("invoice.paid", org_id, data)
        if sums.credit_applied + sums.leftover:
            add(
                "credit.settled",
                org_id,
                {
                    "object": "credit",
                    "invoice_id": invoice_id,
                    "currency": currency,
                    "applied": sums.credit_applied,
                    "refunded": refund,
                    "transferred": sums.leftover - refund,
                },
            )
    for older in paid_before:
        add("invoice.paid", older.org_id, {"object": "invoice", **events.snapshot(older)})
    return found


def mark_paid(session: Session, invoice: Invoice, *, payment: Payment, at: datetime) -> None:
    """Settle the invoice with a payment received, in the ledger too."""
    invoice.amount_paid += payment.amount
    invoice.status, invoice.paid_at, invoice.next_action_at = InvoiceStatus.PAID, at, None
    _ledger(session, invoice, kind=LedgerKind.PAYMENT, amount=-payment.amount, at=at, payment=payment)


def long_overdue(session: Session, *, sub_id: int, org_id: int, now: datetime) -> bool:
    """Whether an invoice billing this subscription is still unpaid past its dunning period (R21)."""
    bills_it = select(Charge.id).where(Charge.invoice_id == Invoice.id, Charge.subscription_id == sub_id).exists()
    return any(
        disable_date(due=due) <= now
        for due in session.scalars(
            select(Invoice.due_at).where(Invoice.org_id == org_id, Invoice.status != InvoiceStatus.PAID, bills_it)
        )
    )


def get_invoice(session: Session, *, invoice_id: int) -> Invoice:
    """The invoice with this id, or NotFound."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(f"unknown invoice {invoice_id}", code=ErrorCode.UNKNOWN_INVOICE)
    return invoice


def get_visible_invoice(session: Session, *, invoice_id: int, actor: Actor) -> Invoice:
    """An invoice the actor may see: another organisation's answers as a missing one does (R9)."""
    invoice = get_invoice(session, invoice_id=invoice_id)
    if not can_see(actor, invoice.org_id):
        raise NotFound(f"unknown invoice {invoice_id}", code=ErrorCode.UNKNOWN_INVOICE)
    return invoice


def lines_by_invoice(session: Session, *, invoice_ids: list[int]) -> dict[int, list[Charge]]:
    """The lines of several invoices at once, in the order they arose."""
    found: dict[int, list[Charge]] = {i: [] for i in invoice_ids}
    for line in session.scalars(select(Charge).where(Charge.invoice_id.in_(invoice_ids)).order_by(Charge.id)):
        found[line.invoice_id].append(line)  # type: ignore[index]  # taken by invoice id, so never None
    return found


def vat_breakdown(lines: list[Charge]) -> list[RateTotal]:
    """An invoice's VAT per category and rate, from its lines: what its `vat` is the sum of (R24)."""
    return by_rate(
        (key, line.amount) for line in lines if (key := taxes.stored(line.vat_category, line.vat_rate)) is not None
    )


def lines_of(session: Session, *, invoice_id: int) -> list[Charge]:
    """An invoice's lines, in the order they arose."""
    return list(session.scalars(select(Charge).where(Charge.invoice_id == invoice_id).order_by(Charge.id)))


def list_invoices(
    session: Session, *, org_id: int, after: int | None = None, limit: int | None = None
) -> list[Invoice]:
    """An organisation's invoices, oldest first (after the id `after`, at most `limit`)."""
    return list(
        session.scalars(page(select(Invoice).where(Invoice.org_id == org_id), Invoice.id, after=after, limit=limit))
    )


Attempt = tuple[Payment, PaymentMethod | None]


def attempts_by_invoice(session: Session, *, invoice_ids: list[int]) -> dict[int, list[Attempt]]:
    """The payments, refunds and failed attempts of several invoices, with the card each used, oldest first."""
    found: dict[int, list[Attempt]] = {i: [] for i in invoice_ids}
    for payment, method in session.execute(
        select(Payment, PaymentMethod)
        .outerjoin(PaymentMethod, PaymentMethod.id == Payment.method_id)
        .where(Payment.invoice_id.in_(invoice_ids))
        .order_by(Payment.id)
    ):
        found[payment.invoice_id].append((payment, method))
    return found


@dataclass(frozen=True, slots=True)
class DunningDates:
    """What happens next to an unpaid invoice (R21)."""

    next_retry: datetime | None  # its card is charged again
    disabled_on: datetime | None  # its subscriptions are disabled if it is still unpaid


def dunning_dates(invoice: Invoice) -> DunningDates:
    """When an unpaid invoice is charged again and when it disables its subscriptions; none once paid, or once
    its retries have stopped (every subscription it bills cancelled)."""
    if invoice.status == InvoiceStatus.PAID or invoice.next_action_at is None:
        return DunningDates(None, None)
    disabled_on = disable_date(due=invoice.due_at)
    retry = invoice.next_action_at if invoice.next_action_at < disabled_on else None
    return DunningDates(retry, disabled_on)


def payable(session: Session, *, invoice_id: int, actor: Actor, now: datetime) -> Invoice:
    """An invoice, row-locked, that the actor may pay now: issued, not paid, and not being charged."""
    invoice = session.scalar(select(Invoice).where(Invoice.id == invoice_id).with_for_update())
    if invoice is None or not can_see(actor, invoice.org_id):
        raise NotFound(f"unknown invoice {invoice_id}", code=ErrorCode.UNKNOWN_INVOICE)
    require(actor, Permission.MANAGE_BILLING, invoice.org_id)
    if invoice.status == InvoiceStatus.PAID:
        raise Refused(f"invoice {invoice.number} is already paid", code=ErrorCode.ALREADY_PAID)
    if invoice.status == InvoiceStatus.COLLECTING:
        raise Refused(
            f"invoice {invoice.number} is being charged to its card: expected its outcome first",
            code=ErrorCode.PAYMENT_IN_PROGRESS,
        )
    if now < invoice.issued_at:
        raise Refused(f"invoice {invoice.number} was issued after {now.isoformat()}", code=ErrorCode.NOT_ISSUED_YET)
    return invoice


def pay_invoice(session: Session, *, invoice_id: int, actor: Actor, now: datetime) -> Invoice:
    """Record a payment received for an open invoice, and reactivate what non-payment disabled (R21)."""
    invoice = payable(session, invoice_id=invoice_id, actor=actor, now=now)
    payment = Payment(
        org_id=invoice.org_id,
        invoice_id=invoice.id,
        method_id=None,
        kind=PaymentKind.PAYMENT,
        amount=invoice.amount_due - invoice.amount_paid,
        currency=invoice.currency,
        status=PaymentStatus.SUCCEEDED,
        at=now,
    )
    session.add(payment)
    session.flush()
    mark_paid(session, invoice, payment=payment, at=now)
    events.audit_change(
        session, actor=actor.label, action="invoice.paid", row=invoice, org_id=invoice.org_id, before=None, at=now
    )
    bus.record(session, PaymentRecorded(invoice_id=invoice.id, at=now))
    return invoice
