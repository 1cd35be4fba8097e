"""The billing run (R19, R20): time walks forward from one due moment to the next up to `as_of`.

At each moment it performs, in this order, the subscriptions' transitions (which bill new periods),
the invoices that fall due, the credit notes whose month is up, then card retries and disabling for
non-payment. Each step re-reads what
is still due, so a run that is interrupted, or run twice, ends as one clean run does.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from seatwise.billing import charges, collection, credit_notes
from seatwise.billing import service as billing
from seatwise.billing.models import Charge, CreditNote, Invoice
from seatwise.catalog.models import Product
from seatwise.core.errors import BadInput, ErrorCode
from seatwise.core.invoicing import (
    Dunning,
    InvoiceStatus,
    MethodKind,
    PaymentKind,
    billing_date_for,
    disable_date,
    next_retry,
)
from seatwise.core.lifecycle import Event, Reason, Status, renewal_index, renews
from seatwise.core.money import Money
from seatwise.core.periods import Interval, period_at
from seatwise.core.roles import SYSTEM_BILLING_RUN
from seatwise.db import bulk_insert, bulk_update
from seatwise.events.models import AuditEntry
from seatwise.organizations.models import Organization
from seatwise.payments.gateway import HARD_DECLINES
from seatwise.payments.models import Payment, PaymentMethod
from seatwise.payments.service import usable_method_at
from seatwise.subscriptions import service as subscriptions
from seatwise.subscriptions.models import Subscription

RUN_EVENTS = (Event.CONVERTED, Event.RENEWED, Event.EXPIRED, Event.DISABLED, Event.DELETED)


@dataclass
class RunSummary:
    """What one billing run did."""

    as_of: datetime
    subscription_ids: set[int] = field(default_factory=set)
    transitions: Counter[Event] = field(default_factory=Counter)
    invoices: int = 0
    credit_notes_settled: int = 0  # what was left of them paid older invoices or was refunded (R16)
    payments: Counter[str] = field(default_factory=Counter)
    totals: Counter[str] = field(default_factory=Counter)  # amount due invoiced, per currency
    done: bool = False

    def add(self, other: RunSummary) -> None:
        """Fold the summary of one step of the run into this one."""
        self.subscription_ids |= other.subscription_ids
        self.transitions.update(other.transitions)
        self.invoices += other.invoices
        self.credit_notes_settled += other.credit_notes_settled
        self.payments.update(other.payments)
        self.totals.update(other.totals)
        self.done = other.done

    @property
    def subscriptions(self) -> int:
        """How many subscriptions had something due."""
        return len(self.subscription_ids)

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data."""
        return {
            "as_of": self.as_of.isoformat(),
            "subscriptions": self.subscriptions,
            "transitions": {event.value: self.transitions.get(event, 0) for event in RUN_EVENTS},
            "invoices": self.invoices,
            "credit_notes_settled": self.credit_notes_settled,
            "payments": dict(sorted(self.payments.items())),
            "invoiced": {
                currency: Money(amount, currency).decimal_string() for currency, amount in sorted(self.totals.items())
            },
        }


def check_as_of(*, as_of: datetime, now: datetime) -> None:
    """A billing run reaches up to the present, never past it (R19)."""
    if as_of > now:
        raise BadInput(
            f"as of {as_of.isoformat()} is later than now ({now.isoformat()}): expected a time up to now",
            code=ErrorCode.AS_OF_IN_FUTURE,
        )


def next_moment(session: Session, *, as_of: datetime) -> datetime | None:
    """The earliest moment up to `as_of` at which something is due, or None."""
    candidates = [
        session.scalar(select(func.min(Subscription.next_event_at)).where(Subscription.next_event_at <= as_of)),
        session.scalar(select(func.min(Charge.bill_on)).where(charges.UNBILLED, Charge.bill_on <= as_of)),
        session.scalar(select(func.min(CreditNote.settle_on)).where(CreditNote.settle_on <= as_of)),
        session.scalar(select(func.min(Invoice.next_action_at)).where(Invoice.next_action_at <= as_of)),
    ]
    due = [c for c in candidates if c is not None]
    return min(due) if due else None


def run_step(session: Session, *, as_of: datetime, limit: int = 5000) -> RunSummary:
    """Do up to `limit` pieces of the earliest work due up to `as_of`; `done` once nothing is left.

    The caller commits after each step, so a long run is many small transactions, and a run
    killed at any point resumes where the last commit left it.
    """
    summary = RunSummary(as_of=as_of)
    moment = next_moment(session, as_of=as_of)
    if moment is None:
        summary.done = True
        return summary
    subs_t = Subscription.__table__
    columns = (
        "id",
        "org_id",
        "product_id",
        "status",
        "recurring_billing",
        "anchor",
        "interval",
        "period_index",
        "current_period_end",
        "seats",
        "unit_price",
        "currency",
    )
    due = session.execute(
        select(*(subs_t.c[name] for name in columns))
        .where(subs_t.c.next_event_at == moment)
        .order_by(subs_t.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if due:
        renewing = [renews(status=Status(row.status), recurring_billing=row.recurring_billing) for row in due]
        renewals = [row for row, renewal in zip(due, renewing, strict=True) if renewal]
        if renewals:
            _renew(session, rows=renewals, at=moment)
            summary.transitions[Event.RENEWED] += len(renewals)
        for row, renewal in zip(due, renewing, strict=True):
            summary.subscription_ids.add(row.id)
            if not renewal:
                for step in subscriptions.catch_up(session, sub=subscriptions.get(session, sub_id=row.id), now=moment):
                    summary.transitions[step.event] += 1
        return summary
    if _wait_for_other_worker(session, select(subs_t.c.id).where(subs_t.c.next_event_at == moment)):
        return summary  # never invoice a moment whose renewals another worker is still writing
    org_ids = list(
        session.scalars(
            select(Charge.org_id)
            .where(charges.UNBILLED, Charge.bill_on == moment)
            .group_by(Charge.org_id)
            .order_by(Charge.org_id)
            .limit(limit)
        )
    )
    if org_ids:
        # Organisation rows are the lock for invoicing them: two workers never invoice one twice.
        locked = list(
            session.scalars(
                select(Organization.id)
                .where(Organization.id.in_(org_ids))
                .order_by(Organization.id)
                .with_for_update(skip_locked=True)
            )
        )
        if not locked:
            _wait_for_other_worker(session, select(Organization.id).where(Organization.id.in_(org_ids)))
            return summary
        for issued in billing.issue_invoices(session, org_ids=locked, at=moment):
            summary.invoices += 1
            summary.totals[issued.currency] += issued.amount_due
        return summary
    if (settled := credit_notes.settle_due(session, at=moment, limit=limit)) is not None:
        summary.credit_notes_settled += settled
        return summary
    for invoice in session.scalars(
        select(Invoice)
        .where(Invoice.next_action_at == moment)
        .order_by(Invoice.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ):
        if (done := follow_up(session, invoice=invoice, at=moment)) is not None:
            summary.payments[done] += 1
    return summary


def _wait_for_other_worker(session: Session, query: Select[Any]) -> bool:
    """If rows of `query` exist, all locked by another worker, wait until it commits; True if so.

    (PostgreSQL only: on SQLite one writer at a time holds the whole database.)"""
    if session.scalar(query.limit(1)) is None:
        return False
    session.execute(query.limit(1).with_for_update())
    return True


def _renew(session: Session, *, rows: list[Any], at: datetime) -> None:
    """Renew active subscriptions whose period ended at `at` and bill their new period (R3, R4), in bulk.

    The transition `core.lifecycle.next_transition` makes, written without loading each row as an
    object: renewals are nearly all of a billing run's work.
    """
    org_ids = {row.org_id for row in rows}
    locales = dict(
        session.execute(select(Organization.id, Organization.locale).where(Organization.id.in_(org_ids))).all()
    )
    names = dict(
        session.execute(select(Product.id, Product.name).where(Product.id.in_({row.product_id for row in rows}))).all()
    )
    last_invoice = dict(
        session.execute(
            select(Invoice.org_id, func.max(Invoice.billing_date))
            .where(Invoice.org_id.in_(org_ids))
            .group_by(Invoice.org_id)
        ).all()
    )
    changes, lines, entries = [], [], []
    for row in rows:
        index = renewal_index(row.period_index)
        period = period_at(row.anchor, Interval(row.interval), index)
        changes.append(
            {
                "id": row.id,
                "period_index": index,
                "current_period_start": period.start,
                "current_period_end": period.end,
                "next_event_at": period.end,
                "updated_at": at,
            }
        )
        lines.append(
            charges.period_line(
                sub_id=row.id,
                org_id=row.org_id,
                anchor=row.anchor,
                index=index,
                seats=row.seats,
                unit_price=row.unit_price,
                currency=row.currency,
                period=period,
                product_name=names[row.product_id],
                locale=locales[row.org_id],
                at=at,
                bill_on=billing_date_for(wanted=period.start, at=at, last_invoice=last_invoice.get(row.org_id)),
            )
        )
        entries.append(
            dict(
                at=at,
                actor=SYSTEM_BILLING_RUN,
                org_id=row.org_id,
                action="subscription.renewed",
                entity="subscriptions",
                entity_id=row.id,
                before={"period_index": row.period_index, "current_period_end": row.current_period_end.isoformat()},
                after={"period_index": index, "current_period_end": period.end.isoformat()},
            )
        )
    bulk_update(session, Subscription.__table__, changes)
    bulk_insert(session, Charge.__table__, lines)
    bulk_insert(session, AuditEntry.__table__, entries)


def follow_up(session: Session, *, invoice: Invoice, at: datetime) -> Dunning | None:
    """On a retry day, charge the card on file again (answered later, see `billing.collection`); once the
    invoice is long overdue, disable its subscriptions (R21). Nothing once it is paid or every subscription it
    bills is cancelled; a card declined for good is not charged again, a card added since is."""
    invoice.next_action_at = None
    if invoice.status != InvoiceStatus.OPEN:
        return None  # paid another way, or being charged
    billed = subscriptions.billed_by(session, invoice_id=invoice.id, lock=True)
    if billed and all(sub.status == Status.DELETED or sub.status_reason == Reason.CANCELED for sub in billed):
        return None  # cancelled or deleted: still owed, but no more retries and nothing left to disable
    if at >= disable_date(due=invoice.due_at):
        for sub in billed:
            subscriptions.disable_for_non_payment(session, sub=sub, at=at)
        return Dunning.DISABLED
    method = usable_method_at(session, org_id=invoice.org_id, at=at)
    if method is not None and method.kind == MethodKind.CARD and not _declined_for_good(session, invoice, method):
        collection.charge_again(session, invoice, method=method, at=at)
        return None
    invoice.next_action_at = next_retry(issued=invoice.issued_at, after=at) or disable_date(due=invoice.due_at)
    return None


def _declined_for_good(session: Session, invoice: Invoice, method: PaymentMethod) -> bool:
    """Whether this card was last tried on this invoice and declined for good (expired, lost, stolen)."""
    last = session.scalars(
        select(Payment)
        .where(Payment.invoice_id == invoice.id, Payment.kind == PaymentKind.PAYMENT, Payment.method_id == method.id)
        .order_by(Payment.id.desc())
        .limit(1)
    ).first()
    return last is not None and last.failure_code in HARD_DECLINES
