"""Money (R14–R21): charges and credits, invoices, the ledger, payments, dunning and the billing run.

The billing run walks time forward from one due moment to the next up to `as_of`; at each
moment it performs, in this order, the subscriptions' transitions (which bill new periods), the
invoices that fall due, then card retries and disabling for non-payment. Each step re-reads what
is still due, so a run that is interrupted, or run twice, ends as one clean run does (R20).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from seatwise.billing.models import Charge, Invoice, InvoiceCounter, LedgerEntry
from seatwise.core.errors import NotFound, Refused
from seatwise.core.invoicing import (
    LineKind, MethodKind, billing_date_for, disable_date, due_date, invoice_number, next_retry, settle, spread,
)
from seatwise.core.lifecycle import Event, Status
from seatwise.core.money import Money
from seatwise.core.periods import Interval, Period, add_days, period_at
from seatwise.core.proration import Proration
from seatwise.core.roles import SYSTEM_BILLING_RUN, Actor, Permission, require
from seatwise.db import bulk_insert, bulk_update, page
from seatwise.events import service as audit
from seatwise.i18n import N_, format_day_range, gettext
from seatwise.organizations.models import Organization
from seatwise.payments.gateway import GATEWAY
from seatwise.payments.models import Payment
from seatwise.payments.service import usable_method_at, usable_methods_at

RUN_EVENTS = (Event.CONVERTED, Event.RENEWED, Event.EXPIRED, Event.DISABLED, Event.DELETED)

_DESCRIPTIONS = {  # (one licence, several licences); English and Dutch both single out 1
    LineKind.PERIOD: (N_("{seats} licence of {product}, {days}"), N_("{seats} licences of {product}, {days}")),
    LineKind.SEATS_ADDED: (N_("{seats} licence added × {used}/{period} days, {days}"),
                           N_("{seats} licences added × {used}/{period} days, {days}")),
    LineKind.SEATS_REMOVED: (N_("Credit: {seats} licence removed × {used}/{period} days, {days}"),
                             N_("Credit: {seats} licences removed × {used}/{period} days, {days}")),
    LineKind.CANCELLATION: (N_("Credit: cancellation, {seats} licence × {used}/{period} days, {days}"),
                            N_("Credit: cancellation, {seats} licences × {used}/{period} days, {days}")),
    LineKind.REACTIVATION: (N_("Reactivation, {seats} licence × {used}/{period} days, {days}"),
                            N_("Reactivation, {seats} licences × {used}/{period} days, {days}")),
}


# --- charges -----------------------------------------------------------------------------

def _billing_date(session: Session, *, org_id: int, wanted: datetime, at: datetime) -> datetime:
    """The midnight on which a line arising at `at` is invoiced (see `billing_date_for`)."""
    last = session.scalar(select(func.max(Invoice.billing_date)).where(Invoice.org_id == org_id))
    return billing_date_for(wanted=wanted, at=at, last_invoice=last)


@lru_cache(maxsize=4096)
def _describe(locale: str, kind: LineKind, seats: int, start: datetime, end: datetime, **text) -> str:
    one, several = _DESCRIPTIONS[kind]
    return gettext(locale, one if seats == 1 else several, seats=seats, days=format_day_range(start, end, locale),
                   **text)


def period_key(sub_id: int, anchor: datetime, index: int) -> str:
    """What makes a whole-period charge unique: the subscription, its anchor and the period (R20)."""
    return f"period:{sub_id}:{anchor.date().isoformat()}:{index}"


def period_line(*, sub_id: int, org_id: int, anchor: datetime, index: int, seats: int, unit_price: int,
                currency: str, period: Period, product_name: str, locale: str, at: datetime,
                bill_on: datetime) -> dict:
    """The row of a whole period's charge; its key makes it unique per subscription and period (R20)."""
    return dict(org_id=org_id, subscription_id=sub_id, kind=LineKind.PERIOD.value,
                description=_describe(locale, LineKind.PERIOD, seats, period.start, period.end,
                                      product=product_name),
                quantity=seats, amount=unit_price * seats, currency=currency, period_start=period.start,
                period_end=period.end, created_at=at, bill_on=bill_on,
                key=period_key(sub_id, anchor, index), invoice_id=None)


def bill_period(session: Session, *, sub, period: Period, product_name: str, at: datetime) -> Charge | None:
    """Charge a whole period in advance, once per subscription and period (R3, R20)."""
    row = period_line(sub_id=sub.id, org_id=sub.org_id, anchor=sub.anchor, index=sub.period_index,
                      seats=sub.seats, unit_price=sub.unit_price, currency=sub.currency, period=period,
                      product_name=product_name, locale=session.get(Organization, sub.org_id).locale, at=at,
                      bill_on=_billing_date(session, org_id=sub.org_id, wanted=period.start, at=at))
    if session.scalar(select(Charge.id).where(Charge.key == row["key"])) is not None:
        return None
    charge = Charge(**row)
    session.add(charge)
    return charge


def bill_proration(session: Session, *, sub, kind: LineKind, proration: Proration, period: Period,
                   at: datetime, bill_on: datetime) -> Charge | None:
    """A prorated charge (seats bought, reactivation) or credit (seats removed, cancellation) (R12, R15)."""
    if proration.days == 0:
        return None
    credit = kind in (LineKind.SEATS_REMOVED, LineKind.CANCELLATION)
    end = add_days(proration.first_day, proration.days)
    charge = Charge(
        org_id=sub.org_id, subscription_id=sub.id, kind=kind.value,
        description=_describe(session.get(Organization, sub.org_id).locale, kind, proration.seats,
                              proration.first_day, end, used=proration.days, period=period.days),
        quantity=proration.seats, amount=-proration.amount.amount if credit else proration.amount.amount,
        currency=sub.currency, period_start=proration.first_day, period_end=end, created_at=at,
        bill_on=_billing_date(session, org_id=sub.org_id, wanted=bill_on, at=at))
    session.add(charge)
    return charge


def credit_issued(session: Session, *, charge: Charge | None, at: datetime) -> None:
    """The `credit.issued` event of a prorated credit, written after the change that gave it."""
    if charge is not None and charge.amount < 0:
        session.flush()
        audit.emit(session, type="credit.issued", org_id=charge.org_id,
                   data={"object": "credit", **audit.snapshot(charge)}, at=at)


# --- invoices, payments and the ledger ------------------------------------------------------

def _take_numbers(session: Session, *, year: int, count: int) -> list[str]:
    """`count` consecutive invoice numbers; the counter row stays locked until the commit (R17)."""
    dialect_insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[session.get_bind().dialect.name]
    session.execute(dialect_insert(InvoiceCounter).values(year=year, last=0).on_conflict_do_nothing())
    counter = session.scalar(select(InvoiceCounter).where(InvoiceCounter.year == year).with_for_update())
    first = counter.last + 1
    counter.last += count
    session.flush()
    return [invoice_number(year, n) for n in range(first, first + count)]


def _ledger(session: Session, invoice: Invoice, *, kind: str, amount: int, at: datetime,
            payment: Payment | None = None) -> None:
    session.add(LedgerEntry(org_id=invoice.org_id, at=at, kind=kind, amount=amount, currency=invoice.currency,
                            invoice_id=invoice.id, payment_id=payment.id if payment else None))


@dataclass(frozen=True)
class Issued:
    """What issuing one invoice did, for the run's summary."""

    currency: str
    amount_due: int
    paid: bool
    attempted: bool


def issue_invoices(session: Session, *, org_ids: list[int], at: datetime) -> list[Issued]:
    """Invoice each organisation's pending lines known at `at`, credits first (R16, R17), and collect.

    Lines due by `at` and any other line already known then are taken, so that a credit is
    applied as early as it can be; a credit no charge absorbs settles older unpaid invoices,
    and what is still left is refunded at once. Written in bulk: this is the billing run's hot path.
    """
    lines_t, invoices_t, payments_t = Charge.__table__, Invoice.__table__, Payment.__table__
    pending = (lines_t.c.invoice_id.is_(None)) & ((lines_t.c.created_at <= at) | (lines_t.c.bill_on <= at))
    by_org: dict[int, list] = defaultdict(list)
    for line in session.execute(select(lines_t.c.id, lines_t.c.org_id, lines_t.c.amount, lines_t.c.currency)
                                .where(lines_t.c.org_id.in_(org_ids), pending).order_by(lines_t.c.id)):
        by_org[line.org_id].append(line)
    orgs = sorted(by_org)
    if not orgs:
        return []
    totals = {org_id: settle([line.amount for line in by_org[org_id]]) for org_id in orgs}
    older = _open_invoices(session, org_ids=[o for o in orgs if totals[o].leftover])
    methods = usable_methods_at(session, org_ids=orgs, at=at)
    invoices, plans, transfers = [], [], []
    for org_id, number in zip(orgs, _take_numbers(session, year=at.year, count=len(orgs))):
        currency, sums, method = by_org[org_id][0].currency, totals[org_id], methods.get(org_id)
        parts, refund = spread(sums.leftover, [i.amount_due - i.amount_paid for i in older.get(org_id, [])])
        transfers += [(invoice, part) for invoice, part in zip(older.get(org_id, []), parts) if part]
        kind = MethodKind(method.kind) if method else None
        due = due_date(issued=at, method=kind)
        outcome = None
        if sums.amount_due and kind is MethodKind.CARD:
            outcome = GATEWAY.charge(method.token, Money(sums.amount_due, currency), idempotency_key=f"{number}/1")
        if refund and kind is MethodKind.CARD:
            GATEWAY.refund(method.token, Money(refund, currency), idempotency_key=f"{number}/refund")
        collected = outcome is not None and outcome.succeeded
        paid = sums.amount_due == 0 or collected
        if paid:
            next_action = None
        elif outcome is not None:
            next_action = next_retry(issued=at, attempts=1)
        else:
            next_action = disable_date(due=due)
        invoices.append(dict(
            number=number, org_id=org_id, billing_date=at, issued_at=at, due_at=due, currency=currency,
            total=sums.total, credit_applied=sums.credit_applied, amount_due=sums.amount_due,
            amount_paid=sums.amount_due if collected else 0, refunded=refund, transferred=sums.leftover - refund,
            status="paid" if paid else "open", paid_at=at if paid else None,
            payment_method_id=method.id if method else None, attempts=1 if outcome else 0,
            next_action_at=next_action))
        plans.append((org_id, currency, sums, refund, method, outcome))
    bulk_insert(session, invoices_t, invoices)
    # Ids by number (unique): one query instead of RETURNING, which SQLite runs a row at a time.
    ids_by_number = dict(session.execute(select(invoices_t.c.number, invoices_t.c.id).where(
        invoices_t.c.number.in_([invoice["number"] for invoice in invoices]))).all())
    invoice_ids = [ids_by_number[invoice["number"]] for invoice in invoices]
    # By line id: exactly the lines the totals were made of, even if others arrived meanwhile.
    bulk_update(session, lines_t, [{"invoice_id": invoice_id, "id": line.id}
                                   for plan, invoice_id in zip(plans, invoice_ids) for line in by_org[plan[0]]])
    payments = []
    for (org_id, currency, sums, refund, method, outcome), invoice_id in zip(plans, invoice_ids):
        common = dict(org_id=org_id, invoice_id=invoice_id, method_id=method.id if method else None,
                      currency=currency, at=at)
        if outcome is not None:
            payments.append(dict(common, kind="payment", amount=sums.amount_due,
                                 status="succeeded" if outcome.succeeded else "failed",
                                 failure_code=outcome.failure_code))
        if refund:
            payments.append(dict(common, kind="refund", amount=refund, status="succeeded", failure_code=None))
    for invoice, part in transfers:
        payments.append(dict(org_id=invoice.org_id, invoice_id=invoice.id, method_id=None, currency=invoice.currency,
                             at=at, kind="credit", amount=part, status="succeeded", failure_code=None))
        invoice.amount_paid += part
        if invoice.amount_paid == invoice.amount_due:
            invoice.status, invoice.paid_at, invoice.next_action_at = "paid", at, None
    moved, declined = {}, {}
    if payments:
        bulk_insert(session, payments_t, payments)
        for payment in session.execute(select(payments_t.c.id, payments_t.c.invoice_id, payments_t.c.kind,
                                              payments_t.c.status).where(
                payments_t.c.invoice_id.in_(invoice_ids), payments_t.c.kind.in_(("payment", "refund")))):
            if payment.status == "succeeded":
                moved[payment.invoice_id, payment.kind] = payment.id
            else:
                declined[payment.invoice_id] = payment.id
    ledger, issued = [], []
    failed = [{"id": declined[p["invoice_id"]], **p} for p in payments if p["invoice_id"] in declined
              and p["status"] == "failed"]
    events = _issue_events(invoices, invoice_ids, plans, failed=failed,
                           paid_before=[i for i, _ in transfers if i.status == "paid"], at=at)
    for (org_id, currency, sums, refund, method, outcome), invoice_id in zip(plans, invoice_ids):
        entry = dict(org_id=org_id, at=at, currency=currency, invoice_id=invoice_id, payment_id=None)
        if sums.total:
            ledger.append(dict(entry, kind="charge", amount=sums.total))
        if sums.credit_applied + sums.leftover:
            ledger.append(dict(entry, kind="credit", amount=-(sums.credit_applied + sums.leftover)))
        if (invoice_id, "refund") in moved:
            ledger.append(dict(entry, kind="refund", amount=refund, payment_id=moved[invoice_id, "refund"]))
        if (invoice_id, "payment") in moved:
            ledger.append(dict(entry, kind="payment", amount=-sums.amount_due,
                               payment_id=moved[invoice_id, "payment"]))
        issued.append(Issued(currency, sums.amount_due,
                             sums.amount_due == 0 or (outcome is not None and outcome.succeeded),
                             outcome is not None))
    bulk_insert(session, LedgerEntry.__table__, ledger)
    audit.emit_many(session, events)
    return issued


def _issue_events(invoices: list[dict], invoice_ids: list[int], plans: list, *, failed: list[dict],
                  paid_before: list[Invoice], at: datetime) -> list[dict]:
    """The events of issuing invoices: issued, paid, a card declined, a credit settled; and older
    invoices a leftover credit has paid."""
    events = []

    def add(type_: str, org_id: int, data: dict) -> None:
        events.append(dict(org_id=org_id, type=type_, occurred_at=at, data=data))

    def record(row: dict) -> dict:
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}

    for invoice, invoice_id, (org_id, currency, sums, refund, _method, _outcome) in zip(invoices, invoice_ids,
                                                                                        plans):
        data = {"object": "invoice", "id": invoice_id, **record(invoice)}
        add("invoice.issued", org_id, data)
        if invoice["status"] == "paid":
            add("invoice.paid", org_id, data)
        if sums.credit_applied + sums.leftover:
            add("credit.settled", org_id, {"object": "credit", "invoice_id": invoice_id, "currency": currency,
                                           "applied": sums.credit_applied, "refunded": refund,
                                           "transferred": sums.leftover - refund})
    for payment in failed:
        add("payment.failed", payment["org_id"], {"object": "payment", **record(payment)})
    for older in paid_before:
        add("invoice.paid", older.org_id, {"object": "invoice", **audit.snapshot(older)})
    return events


def _open_invoices(session: Session, *, org_ids: list[int]) -> dict[int, list[Invoice]]:
    """Unpaid invoices of these organisations, oldest first, locked."""
    found: dict[int, list[Invoice]] = defaultdict(list)
    if org_ids:
        for invoice in session.scalars(select(Invoice).where(Invoice.org_id.in_(org_ids), Invoice.status == "open")
                                       .order_by(Invoice.id).with_for_update()):
            found[invoice.org_id].append(invoice)
    return found


def _collect(session: Session, invoice: Invoice, *, method, at: datetime) -> bool:
    """Charge the card again; on failure, schedule the next retry or, after the last, disabling (R21)."""
    outstanding = invoice.amount_due - invoice.amount_paid
    invoice.attempts += 1
    outcome = GATEWAY.charge(method.token, Money(outstanding, invoice.currency),
                             idempotency_key=f"{invoice.number}/{invoice.attempts}")
    invoice.payment_method_id = method.id
    payment = Payment(org_id=invoice.org_id, invoice_id=invoice.id, method_id=method.id, kind="payment",
                      amount=outstanding, currency=invoice.currency,
                      status="succeeded" if outcome.succeeded else "failed", failure_code=outcome.failure_code, at=at)
    session.add(payment)
    session.flush()
    if outcome.succeeded:
        _mark_paid(session, invoice, payment=payment, at=at)
        audit.emit(session, type="invoice.paid", org_id=invoice.org_id,
                   data={"object": "invoice", **audit.snapshot(invoice)}, at=at)
        return True
    audit.emit(session, type="payment.failed", org_id=invoice.org_id,
               data={"object": "payment", **audit.snapshot(payment)}, at=at)
    invoice.next_action_at = next_retry(issued=invoice.issued_at, attempts=invoice.attempts) or disable_date(
        due=invoice.due_at)
    return False


def _mark_paid(session: Session, invoice: Invoice, *, payment: Payment, at: datetime) -> None:
    invoice.amount_paid += payment.amount
    invoice.status, invoice.paid_at, invoice.next_action_at = "paid", at, None
    _ledger(session, invoice, kind="payment", amount=-payment.amount, at=at, payment=payment)


def follow_up(session: Session, *, invoice: Invoice, at: datetime) -> str:
    """Retry a failed card payment, or disable the invoice's subscriptions once it is long overdue (R21)."""
    from seatwise.subscriptions import service as subscriptions

    invoice.next_action_at = None
    method = usable_method_at(session, org_id=invoice.org_id, at=at)  # a card added since is tried too
    if method is not None and method.kind == MethodKind.CARD and next_retry(
            issued=invoice.issued_at, attempts=invoice.attempts) is not None:
        return "retried" if _collect(session, invoice, method=method, at=at) else "retry_failed"
    for sub in subscriptions_of(session, invoice=invoice, lock=True):
        subscriptions.disable_for_non_payment(session, sub=sub, at=at)
    return "disabled"


def subscriptions_of(session: Session, *, invoice: Invoice, lock: bool = False) -> list:
    """The subscriptions an invoice bills."""
    from seatwise.subscriptions.models import Subscription

    ids = select(Charge.subscription_id).where(Charge.invoice_id == invoice.id)
    query = select(Subscription).where(Subscription.id.in_(ids)).order_by(Subscription.id)
    if lock:
        query = query.with_for_update()
    return list(session.scalars(query))


def period_billed(session: Session, *, sub_id: int, anchor: datetime, index: int) -> bool:
    """Whether a subscription's period has its whole-period charge already."""
    return session.scalar(select(Charge.id).where(Charge.key == period_key(sub_id, anchor, index))) is not None


def long_overdue(session: Session, *, sub_id: int, org_id: int, now: datetime) -> bool:
    """Whether an invoice billing this subscription is still unpaid past its dunning period (R21)."""
    bills_it = select(Charge.id).where(Charge.invoice_id == Invoice.id, Charge.subscription_id == sub_id).exists()
    return any(disable_date(due=due) <= now for due in session.scalars(
        select(Invoice.due_at).where(Invoice.org_id == org_id, Invoice.status == "open", bills_it)))


def get_invoice(session: Session, *, invoice_id: int) -> Invoice:
    """The invoice with this id, or NotFound."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(f"unknown invoice {invoice_id}: expected an id from `seatwise invoice list`",
                       code="unknown_invoice")
    return invoice


def get_visible_invoice(session: Session, *, invoice_id: int, actor: Actor) -> Invoice:
    """An invoice the actor may see: another organisation's answers as a missing one does (R9)."""
    invoice = get_invoice(session, invoice_id=invoice_id)
    if not actor.is_operator and actor.org_id != invoice.org_id:
        raise NotFound(f"unknown invoice {invoice_id}: expected an invoice of your organisation",
                       code="unknown_invoice")
    return invoice


def lines_by_invoice(session: Session, *, invoice_ids: list[int]) -> dict[int, list[Charge]]:
    """The lines of several invoices at once, in the order they arose."""
    found: dict[int, list[Charge]] = {i: [] for i in invoice_ids}
    for line in session.scalars(select(Charge).where(Charge.invoice_id.in_(invoice_ids)).order_by(Charge.id)):
        found[line.invoice_id].append(line)
    return found


def lines_of(session: Session, *, invoice_id: int) -> list[Charge]:
    """An invoice's lines, in the order they arose."""
    return list(session.scalars(select(Charge).where(Charge.invoice_id == invoice_id).order_by(Charge.id)))


def list_invoices(session: Session, *, org_id: int, after: int | None = None,
                  limit: int | None = None) -> list[Invoice]:
    """An organisation's invoices, oldest first (after the id `after`, at most `limit`)."""
    return list(session.scalars(page(select(Invoice).where(Invoice.org_id == org_id), Invoice.id, after=after,
                                     limit=limit)))


def pay_invoice(session: Session, *, invoice_id: int, actor: Actor, now: datetime) -> Invoice:
    """Record a payment received for an open invoice, and reactivate what non-payment disabled (R21)."""
    from seatwise.subscriptions import service as subscriptions

    invoice = session.scalar(select(Invoice).where(Invoice.id == invoice_id).with_for_update())
    if invoice is None:
        raise NotFound(f"unknown invoice {invoice_id}: expected an id from `seatwise invoice list`",
                       code="unknown_invoice")
    require(actor, Permission.MANAGE_BILLING, invoice.org_id)
    if invoice.status == "paid":
        raise Refused(f"invoice {invoice.number} is already paid", code="already_paid")
    if now < invoice.issued_at:
        raise Refused(f"invoice {invoice.number} was issued after {now.isoformat()}", code="not_issued_yet")
    payment = Payment(org_id=invoice.org_id, invoice_id=invoice.id, method_id=None, kind="payment",
                      amount=invoice.amount_due - invoice.amount_paid, currency=invoice.currency,
                      status="succeeded", at=now)
    session.add(payment)
    session.flush()
    _mark_paid(session, invoice, payment=payment, at=now)
    audit.record(session, actor=actor.label, action="invoice.paid", row=invoice, org_id=invoice.org_id,
                 before=None, at=now)
    for sub in subscriptions_of(session, invoice=invoice, lock=True):
        subscriptions.reactivate_after_payment(session, sub=sub, now=now)
    return invoice


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
    """Prove the books (R18): per organisation the ledger equals what open invoices still ask for; per
    invoice the lines, payments, refunds and ledger entries each agree with its totals."""
    problems = []
    ledger = dict(session.execute(select(LedgerEntry.org_id, func.sum(LedgerEntry.amount))
                                  .group_by(LedgerEntry.org_id)).all())
    owed = dict(session.execute(select(Invoice.org_id, func.sum(Invoice.amount_due - Invoice.amount_paid))
                                .where(Invoice.status == "open").group_by(Invoice.org_id)).all())
    for org_id in sorted(set(ledger) | set(owed)):
        if (ledger.get(org_id) or 0) != (owed.get(org_id) or 0):
            problems.append(Imbalance(org_id, "ledger balance vs open invoices", owed.get(org_id) or 0,
                                      ledger.get(org_id) or 0))

    def sums(query) -> dict:
        return {tuple(row[:-1]): row[-1] for row in session.execute(query)}

    lines = sums(select(Charge.invoice_id, func.sum(Charge.amount)).where(Charge.invoice_id.is_not(None))
                 .group_by(Charge.invoice_id))
    moved = sums(select(Payment.invoice_id, Payment.kind, func.sum(Payment.amount))
                 .where(Payment.status == "succeeded").group_by(Payment.invoice_id, Payment.kind))
    entries = sums(select(LedgerEntry.invoice_id, LedgerEntry.kind, func.sum(LedgerEntry.amount))
                   .group_by(LedgerEntry.invoice_id, LedgerEntry.kind))
    for invoice in session.scalars(select(Invoice).order_by(Invoice.id)):
        i = invoice.id
        leftover = invoice.refunded + invoice.transferred
        checks = [
            ("lines vs total − credit − leftover", invoice.total - invoice.credit_applied - leftover,
             lines.get((i,), 0)),
            ("amount due vs total − credit", invoice.total - invoice.credit_applied, invoice.amount_due),
            ("paid vs payments and credits", invoice.amount_paid,
             moved.get((i, "payment"), 0) + moved.get((i, "credit"), 0)),
            ("status vs amount paid", invoice.amount_due if invoice.status == "paid" else invoice.amount_paid,
             invoice.amount_paid),
            ("refunded vs refunds", invoice.refunded, moved.get((i, "refund"), 0)),
            ("ledger charge vs total", invoice.total, entries.get((i, "charge"), 0)),
            ("ledger credit vs credits", -(invoice.credit_applied + leftover), entries.get((i, "credit"), 0)),
            ("ledger refund vs refunds", moved.get((i, "refund"), 0), entries.get((i, "refund"), 0)),
            ("ledger payment vs payments", -moved.get((i, "payment"), 0), entries.get((i, "payment"), 0)),
        ]
        problems += [Imbalance(invoice.org_id, f"invoice {invoice.number}: {what}", expected, found)
                     for what, expected, found in checks if expected != found]
    return problems


# --- the billing run -------------------------------------------------------------------------

@dataclass
class RunSummary:
    """What one billing run did."""

    as_of: datetime
    subscription_ids: set[int] = field(default_factory=set)
    transitions: Counter = field(default_factory=Counter)
    invoices: int = 0
    payments: Counter = field(default_factory=Counter)
    totals: Counter = field(default_factory=Counter)  # amount due invoiced, per currency
    done: bool = False

    def add(self, other: "RunSummary") -> None:
        """Fold the summary of one step of the run into this one."""
        self.subscription_ids |= other.subscription_ids
        self.transitions.update(other.transitions)
        self.invoices += other.invoices
        self.payments.update(other.payments)
        self.totals.update(other.totals)
        self.done = other.done

    @property
    def subscriptions(self) -> int:
        """How many subscriptions had something due."""
        return len(self.subscription_ids)

    def as_dict(self) -> dict:
        """The summary as JSON-ready data."""
        return {
            "as_of": self.as_of.isoformat(),
            "subscriptions": self.subscriptions,
            "transitions": {event.value: self.transitions.get(event, 0) for event in RUN_EVENTS},
            "invoices": self.invoices,
            "payments": dict(sorted(self.payments.items())),
            "invoiced": {currency: Money(amount, currency).decimal_string()
                         for currency, amount in sorted(self.totals.items())},
        }


def next_moment(session: Session, *, as_of: datetime) -> datetime | None:
    """The earliest moment up to `as_of` at which something is due, or None."""
    from seatwise.subscriptions.models import Subscription

    candidates = [
        session.scalar(select(func.min(Subscription.next_event_at)).where(Subscription.next_event_at <= as_of)),
        session.scalar(select(func.min(Charge.bill_on)).where(Charge.invoice_id.is_(None),
                                                               Charge.bill_on <= as_of)),
        session.scalar(select(func.min(Invoice.next_action_at)).where(Invoice.next_action_at <= as_of)),
    ]
    due = [c for c in candidates if c is not None]
    return min(due) if due else None


def run_step(session: Session, *, as_of: datetime, limit: int = 5000) -> RunSummary:
    """Do up to `limit` pieces of the earliest work due up to `as_of`; `done` once nothing is left.

    The caller commits after each step, so a long run is many small transactions, and a run
    killed at any point resumes where the last commit left it.
    """
    from seatwise.subscriptions import service as subscriptions
    from seatwise.subscriptions.models import Subscription

    summary = RunSummary(as_of=as_of)
    moment = next_moment(session, as_of=as_of)
    if moment is None:
        summary.done = True
        return summary
    subs_t = Subscription.__table__
    columns = ("id", "org_id", "product_id", "status", "recurring_billing", "anchor", "interval", "period_index",
               "current_period_end", "seats", "unit_price", "currency")
    due = session.execute(select(*(subs_t.c[name] for name in columns)).where(subs_t.c.next_event_at == moment)
                          .order_by(subs_t.c.id).limit(limit).with_for_update(skip_locked=True)).all()
    if due:
        renewals = [row for row in due if row.status == Status.ACTIVE and row.recurring_billing]
        if renewals:
            _renew(session, rows=renewals, at=moment)
            summary.transitions[Event.RENEWED] += len(renewals)
        for row in due:
            summary.subscription_ids.add(row.id)
            if row.status != Status.ACTIVE or not row.recurring_billing:
                for step in subscriptions.catch_up(session, sub=subscriptions.get(session, sub_id=row.id), now=moment):
                    summary.transitions[step.event] += 1
        return summary
    if _wait_for_other_worker(session, select(subs_t.c.id).where(subs_t.c.next_event_at == moment)):
        return summary  # never invoice a moment whose renewals another worker is still writing
    org_ids = list(session.scalars(
        select(Charge.org_id).where(Charge.invoice_id.is_(None), Charge.bill_on == moment)
        .group_by(Charge.org_id).order_by(Charge.org_id).limit(limit)))
    if org_ids:
        # Organisation rows are the lock for invoicing them: two workers never invoice one twice.
        locked = list(session.scalars(select(Organization.id).where(Organization.id.in_(org_ids))
                                      .order_by(Organization.id).with_for_update(skip_locked=True)))
        if not locked:
            _wait_for_other_worker(session, select(Organization.id).where(Organization.id.in_(org_ids)))
            return summary
        for issued in issue_invoices(session, org_ids=locked, at=moment):
            summary.invoices += 1
            summary.totals[issued.currency] += issued.amount_due
            if issued.attempted:
                summary.payments["succeeded" if issued.paid else "failed"] += 1
        return summary
    for invoice in session.scalars(select(Invoice).where(Invoice.next_action_at == moment)
                                   .order_by(Invoice.id).limit(limit).with_for_update(skip_locked=True)):
        summary.payments[follow_up(session, invoice=invoice, at=moment)] += 1
    return summary


def _wait_for_other_worker(session: Session, query) -> bool:
    """If rows of `query` exist, all locked by another worker, wait until it commits; True if so.

    (PostgreSQL only: on SQLite one writer at a time holds the whole database.)"""
    if session.scalar(query.limit(1)) is None:
        return False
    session.execute(query.limit(1).with_for_update())
    return True


def _renew(session: Session, *, rows: list, at: datetime) -> None:
    """Renew active subscriptions whose period ended at `at` and bill their new period (R3, R4), in bulk.

    The same transition as `core.lifecycle.next_transition` makes, written without loading each row
    as an object: renewals are nearly all of a billing run's work.
    """
    from seatwise.catalog.models import Product
    from seatwise.events.models import AuditEntry
    from seatwise.subscriptions.models import Subscription

    org_ids = {row.org_id for row in rows}
    locales = dict(session.execute(select(Organization.id, Organization.locale).where(Organization.id.in_(org_ids))).all())
    names = dict(session.execute(select(Product.id, Product.name)
                                 .where(Product.id.in_({row.product_id for row in rows}))).all())
    last_invoice = dict(session.execute(select(Invoice.org_id, func.max(Invoice.billing_date))
                                        .where(Invoice.org_id.in_(org_ids)).group_by(Invoice.org_id)).all())
    changes, lines, entries = [], [], []
    for row in rows:
        index = row.period_index + 1
        period = period_at(row.anchor, Interval(row.interval), index)
        changes.append({"id": row.id, "period_index": index, "current_period_start": period.start,
                        "current_period_end": period.end, "next_event_at": period.end, "updated_at": at})
        lines.append(period_line(
            sub_id=row.id, org_id=row.org_id, anchor=row.anchor, index=index, seats=row.seats,
            unit_price=row.unit_price, currency=row.currency, period=period, product_name=names[row.product_id],
            locale=locales[row.org_id], at=at,
            bill_on=billing_date_for(wanted=period.start, at=at, last_invoice=last_invoice.get(row.org_id))))
        entries.append(dict(at=at, actor=SYSTEM_BILLING_RUN, org_id=row.org_id, action="subscription.renewed",
                            entity="subscriptions", entity_id=row.id,
                            before={"period_index": row.period_index,
                                    "current_period_end": row.current_period_end.isoformat()},
                            after={"period_index": index, "current_period_end": period.end.isoformat()}))
    bulk_update(session, Subscription.__table__, changes)
    bulk_insert(session, Charge.__table__, lines)
    bulk_insert(session, AuditEntry.__table__, entries)


def run(session: Session, *, as_of: datetime) -> RunSummary:
    """The whole billing run in one transaction (tests and small installations)."""
    summary = RunSummary(as_of=as_of)
    while not summary.done:
        summary.add(run_step(session, as_of=as_of))
    return summary
