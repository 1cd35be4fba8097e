"""Money (R14–R21): charges and credits, invoices, the ledger, payments, dunning and the billing run.

The billing run walks time forward from one due moment to the next up to `as_of`; at each
moment it performs, in this order, the subscriptions' transitions (which bill new periods), the
invoices that fall due, then card retries and disabling for non-payment. Each step re-reads what
is still due, so a run that is interrupted, or run twice, ends as one clean run does (R20).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from seatwise.billing.models import Charge, Invoice, InvoiceCounter, LedgerEntry
from seatwise.core.errors import NotFound, Refused
from seatwise.core.invoicing import (
    LineKind, MethodKind, disable_date, due_date, invoice_number, next_retry, settle,
)
from seatwise.core.lifecycle import Event
from seatwise.core.money import Money
from seatwise.core.periods import Period, add_days, start_of_day
from seatwise.core.proration import Proration
from seatwise.core.roles import Actor, Permission, require
from seatwise.events import service as audit
from seatwise.i18n import format_day_range, gettext
from seatwise.organizations.models import Organization
from seatwise.payments.gateway import GATEWAY
from seatwise.payments.models import Payment, PaymentMethod
from seatwise.payments.service import usable_method_at

RUN_EVENTS = (Event.CONVERTED, Event.RENEWED, Event.EXPIRED, Event.DISABLED, Event.DELETED)

_DESCRIPTIONS = {
    LineKind.PERIOD: "{seats} licences of {product}, {days}",
    LineKind.SEATS_ADDED: "{seats} licences added × {used}/{period} days, {days}",
    LineKind.SEATS_REMOVED: "Credit: {seats} licences removed × {used}/{period} days, {days}",
    LineKind.CANCELLATION: "Credit: cancellation, {seats} licences × {used}/{period} days, {days}",
    LineKind.REACTIVATION: "Reactivation, {seats} licences × {used}/{period} days, {days}",
}


# --- charges -----------------------------------------------------------------------------

def _billing_date(session: Session, *, org_id: int, wanted: datetime, at: datetime) -> datetime:
    """The midnight on which a line arising at `at` is invoiced: `wanted` if still ahead, else the next
    midnight; and never a date the organisation already has an invoice for (R17: one per date)."""
    if wanted < at:
        wanted = add_days(start_of_day(at), 1)
    last = session.scalar(select(func.max(Invoice.billing_date)).where(Invoice.org_id == org_id))
    return wanted if last is None or last < wanted else add_days(last, 1)


def _add(session: Session, *, sub, kind: LineKind, amount: int, seats: int, days: Period, at: datetime,
         bill_on: datetime, text: dict, key: str | None = None) -> Charge:
    org = session.get(Organization, sub.org_id)
    description = gettext(org.locale, _DESCRIPTIONS[kind], seats=seats,
                          days=format_day_range(days.start, days.end, org.locale), **text)
    charge = Charge(org_id=sub.org_id, subscription_id=sub.id, kind=kind.value, description=description,
                    quantity=seats, amount=amount, currency=sub.currency, period_start=days.start,
                    period_end=days.end, created_at=at,
                    bill_on=_billing_date(session, org_id=sub.org_id, wanted=bill_on, at=at), key=key)
    session.add(charge)
    return charge


def bill_period(session: Session, *, sub, period: Period, product_name: str, at: datetime) -> Charge | None:
    """Charge a whole period in advance, once per subscription and period (R3, R20)."""
    key = f"period:{sub.id}:{sub.anchor.date().isoformat()}:{sub.period_index}"
    if session.scalar(select(Charge.id).where(Charge.key == key)) is not None:
        return None
    return _add(session, sub=sub, kind=LineKind.PERIOD, amount=sub.unit_price * sub.seats, seats=sub.seats,
                days=period, at=at, bill_on=period.start, text={"product": product_name}, key=key)


def bill_proration(session: Session, *, sub, kind: LineKind, proration: Proration, period: Period,
                   at: datetime, bill_on: datetime) -> Charge | None:
    """A prorated charge (seats bought, reactivation) or credit (seats removed, cancellation) (R12, R15)."""
    if proration.days == 0:
        return None
    credit = kind in (LineKind.SEATS_REMOVED, LineKind.CANCELLATION)
    amount = -proration.amount.amount if credit else proration.amount.amount
    days = Period(proration.first_day, add_days(proration.first_day, proration.days))
    return _add(session, sub=sub, kind=kind, amount=amount, seats=proration.seats, days=days, at=at,
                bill_on=bill_on, text={"used": proration.days, "period": period.days})


# --- invoices, payments and the ledger ------------------------------------------------------

def _next_number(session: Session, *, year: int) -> str:
    counter = session.scalar(select(InvoiceCounter).where(InvoiceCounter.year == year).with_for_update())
    if counter is None:
        counter = InvoiceCounter(year=year, last=0)
        session.add(counter)
    counter.last += 1
    return invoice_number(year, counter.last)


def _ledger(session: Session, invoice: Invoice, *, kind: str, amount: int, at: datetime,
            payment: Payment | None = None) -> None:
    session.add(LedgerEntry(org_id=invoice.org_id, at=at, kind=kind, amount=amount, currency=invoice.currency,
                            invoice_id=invoice.id, payment_id=payment.id if payment else None))


def issue_invoice(session: Session, *, org_id: int, at: datetime) -> Invoice | None:
    """Invoice every pending line of an organisation known at `at`: credits first, the rest due (R16, R17)."""
    # Lines due by now, and any other line already known then: a credit is applied as early as it can be.
    lines = list(session.scalars(select(Charge).where(
        Charge.org_id == org_id, Charge.invoice_id.is_(None), (Charge.created_at <= at) | (Charge.bill_on <= at))
        .order_by(Charge.id)))
    if not lines:
        return None
    totals = settle([line.amount for line in lines])
    method = usable_method_at(session, org_id=org_id, at=at)
    kind = MethodKind(method.kind) if method else None
    invoice = Invoice(
        number=_next_number(session, year=at.year), org_id=org_id, billing_date=at, issued_at=at,
        due_at=due_date(issued=at, method=kind), currency=lines[0].currency, total=totals.total,
        credit_applied=totals.credit_applied, amount_due=totals.amount_due, refunded=totals.refund,
        status="paid" if totals.amount_due == 0 else "open", paid_at=at if totals.amount_due == 0 else None,
        payment_method_id=method.id if method else None, attempts=0,
    )
    session.add(invoice)
    session.flush()
    for line in lines:
        line.invoice_id = invoice.id
    if totals.total:
        _ledger(session, invoice, kind="charge", amount=totals.total, at=at)
    if totals.credit_applied + totals.refund:
        _ledger(session, invoice, kind="credit", amount=-(totals.credit_applied + totals.refund), at=at)
    if totals.refund:
        _refund(session, invoice, method=method, amount=totals.refund, at=at)
    if invoice.status == "open":
        if kind is MethodKind.CARD:
            _collect(session, invoice, method=method, at=at)
        else:
            invoice.next_action_at = disable_date(due=invoice.due_at)
    return invoice


def _refund(session: Session, invoice: Invoice, *, method, amount: int, at: datetime) -> None:
    """Return a credit that no charge absorbed to the payment method at once (R16)."""
    if method is not None and method.kind == MethodKind.CARD:
        GATEWAY.refund(method.token, Money(amount, invoice.currency))
    payment = Payment(org_id=invoice.org_id, invoice_id=invoice.id, method_id=method.id if method else None,
                      kind="refund", amount=amount, currency=invoice.currency, status="succeeded", at=at)
    session.add(payment)
    session.flush()
    _ledger(session, invoice, kind="refund", amount=amount, at=at, payment=payment)


def _collect(session: Session, invoice: Invoice, *, method, at: datetime) -> bool:
    """Charge the card; on failure, schedule the next retry or, after the last, disabling (R21)."""
    outcome = GATEWAY.charge(method.token, Money(invoice.amount_due, invoice.currency))
    invoice.attempts += 1
    payment = Payment(org_id=invoice.org_id, invoice_id=invoice.id, method_id=method.id, kind="payment",
                      amount=invoice.amount_due, currency=invoice.currency,
                      status="succeeded" if outcome.succeeded else "failed", failure_code=outcome.failure_code, at=at)
    session.add(payment)
    session.flush()
    if outcome.succeeded:
        _mark_paid(session, invoice, payment=payment, at=at)
        return True
    invoice.next_action_at = next_retry(issued=invoice.issued_at, attempts=invoice.attempts) or disable_date(
        due=invoice.due_at)
    return False


def _mark_paid(session: Session, invoice: Invoice, *, payment: Payment, at: datetime) -> None:
    invoice.status, invoice.paid_at, invoice.next_action_at = "paid", at, None
    _ledger(session, invoice, kind="payment", amount=-invoice.amount_due, at=at, payment=payment)


def follow_up(session: Session, *, invoice: Invoice, at: datetime) -> str:
    """Retry a failed card payment, or disable the invoice's subscriptions once it is long overdue (R21)."""
    from seatwise.subscriptions import service as subscriptions

    invoice.next_action_at = None
    method = session.get(PaymentMethod, invoice.payment_method_id) if invoice.payment_method_id else None
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


def get_invoice(session: Session, *, invoice_id: int) -> Invoice:
    """The invoice with this id, or NotFound."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(f"unknown invoice {invoice_id}: expected an id from `seatwise invoice list`",
                       code="unknown_invoice")
    return invoice


def lines_of(session: Session, *, invoice_id: int) -> list[Charge]:
    """An invoice's lines, in the order they arose."""
    return list(session.scalars(select(Charge).where(Charge.invoice_id == invoice_id).order_by(Charge.id)))


def list_invoices(session: Session, *, org_id: int) -> list[Invoice]:
    """An organisation's invoices, oldest first."""
    return list(session.scalars(select(Invoice).where(Invoice.org_id == org_id).order_by(Invoice.id)))


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
                      amount=invoice.amount_due, currency=invoice.currency, status="succeeded", at=now)
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
    """Prove the books (R18): per organisation the ledger equals what open invoices still ask for, and
    every invoice equals its lines, its payments and its refunds."""
    problems = []
    ledger = dict(session.execute(select(LedgerEntry.org_id, func.sum(LedgerEntry.amount))
                                  .group_by(LedgerEntry.org_id)).all())
    owed = dict(session.execute(select(Invoice.org_id, func.sum(Invoice.amount_due))
                                .where(Invoice.status == "open").group_by(Invoice.org_id)).all())
    for org_id in sorted(set(ledger) | set(owed)):
        if (ledger.get(org_id) or 0) != (owed.get(org_id) or 0):
            problems.append(Imbalance(org_id, "ledger balance vs open invoices", owed.get(org_id) or 0,
                                      ledger.get(org_id) or 0))
    line_sums = dict(session.execute(select(Charge.invoice_id, func.sum(Charge.amount))
                                     .where(Charge.invoice_id.is_not(None)).group_by(Charge.invoice_id)).all())
    paid = dict(session.execute(select(Payment.invoice_id, func.sum(Payment.amount)).where(
        Payment.kind == "payment", Payment.status == "succeeded").group_by(Payment.invoice_id)).all())
    refunds = dict(session.execute(select(Payment.invoice_id, func.sum(Payment.amount)).where(
        Payment.kind == "refund").group_by(Payment.invoice_id)).all())
    for invoice in session.scalars(select(Invoice).order_by(Invoice.id)):
        checks = [
            ("lines vs total − credit − refund", invoice.total - invoice.credit_applied - invoice.refunded,
             line_sums.get(invoice.id) or 0),
            ("amount due vs total − credit", invoice.total - invoice.credit_applied, invoice.amount_due),
            ("payments vs amount due", invoice.amount_due if invoice.status == "paid" else 0,
             paid.get(invoice.id) or 0),
            ("refunds vs refunded", invoice.refunded, refunds.get(invoice.id) or 0),
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


def run_step(session: Session, *, as_of: datetime, limit: int = 1000) -> RunSummary:
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
    due_subs = list(session.scalars(
        select(Subscription).where(Subscription.next_event_at == moment).order_by(Subscription.id)
        .limit(limit).with_for_update(skip_locked=True)))
    if due_subs:
        for sub in due_subs:
            summary.subscription_ids.add(sub.id)
            for step in subscriptions.catch_up(session, sub=sub, now=moment):
                summary.transitions[step.event] += 1
        return summary
    org_ids = list(session.scalars(
        select(Charge.org_id).where(Charge.invoice_id.is_(None), Charge.bill_on == moment)
        .group_by(Charge.org_id).order_by(Charge.org_id).limit(limit)))
    if org_ids:
        for org_id in org_ids:
            invoice = issue_invoice(session, org_id=org_id, at=moment)
            summary.invoices += 1
            summary.totals[invoice.currency] += invoice.amount_due
            if invoice.attempts:
                summary.payments["succeeded" if invoice.status == "paid" else "failed"] += 1
        return summary
    for invoice in session.scalars(select(Invoice).where(Invoice.next_action_at == moment)
                                   .order_by(Invoice.id).limit(limit).with_for_update(skip_locked=True)):
        summary.payments[follow_up(session, invoice=invoice, at=moment)] += 1
    return summary


def run(session: Session, *, as_of: datetime) -> RunSummary:
    """The whole billing run in one transaction (tests and small installations)."""
    summary = RunSummary(as_of=as_of)
    while not summary.done:
        summary.add(run_step(session, as_of=as_of))
    return summary

