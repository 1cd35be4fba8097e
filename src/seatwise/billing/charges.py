"""The lines to bill (R3, R12, R15): whole periods charged in advance, prorated charges and credits, each
pending until an invoice takes it. Knows nothing of subscriptions: it bills any row with an id, an
organisation, an anchor and period, seats and a price (`Billable`)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from seatwise.billing import credit_notes
from seatwise.billing.models import Charge, Invoice
from seatwise.core.invoicing import LineKind, billing_date_for, credit_returned_by
from seatwise.core.periods import Period, add_days
from seatwise.core.proration import Proration
from seatwise.db import get_existing
from seatwise.events import service as events
from seatwise.i18n import N_, format_day_range, gettext
from seatwise.organizations.models import Organization

# Lines still waiting for an invoice; a credit note's lines never do (R25).
UNBILLED = Charge.invoice_id.is_(None) & Charge.credit_note_id.is_(None)

_DESCRIPTIONS = {  # (one licence, several licences); English and Dutch both single out 1
    LineKind.PERIOD: (N_("{seats} licence of {product}, {days}"), N_("{seats} licences of {product}, {days}")),
    LineKind.SEATS_ADDED: (
        N_("{seats} licence added × {used}/{period} days, {days}"),
        N_("{seats} licences added × {used}/{period} days, {days}"),
    ),
    LineKind.SEATS_REMOVED: (
        N_("Credit: {seats} licence removed × {used}/{period} days, {days}"),
        N_("Credit: {seats} licences removed × {used}/{period} days, {days}"),
    ),
    LineKind.CANCELLATION: (
        N_("Credit: cancellation, {seats} licence × {used}/{period} days, {days}"),
        N_("Credit: cancellation, {seats} licences × {used}/{period} days, {days}"),
    ),
    LineKind.REACTIVATION: (
        N_("Reactivation, {seats} licence × {used}/{period} days, {days}"),
        N_("Reactivation, {seats} licences × {used}/{period} days, {days}"),
    ),
}


def _billing_date(session: Session, *, org_id: int, wanted: datetime, at: datetime) -> datetime:
    """The midnight on which a line arising at `at` is invoiced (see `billing_date_for`)."""
    last = session.scalar(select(func.max(Invoice.billing_date)).where(Invoice.org_id == org_id))
    return billing_date_for(wanted=wanted, at=at, last_invoice=last)


@lru_cache(maxsize=4096)
def _describe(locale: str, kind: LineKind, seats: int, start: datetime, end: datetime, **text: object) -> str:
    one, several = _DESCRIPTIONS[kind]
    return gettext(
        locale, one if seats == 1 else several, seats=seats, days=format_day_range(start, end, locale), **text
    )


def describe(line: Charge, locale: str) -> str:
    """A line's words in the reader's language, made from its kind and figures when it is shown (R26)."""
    kind = LineKind(line.kind)
    start, end = line.period_start, line.period_end
    if kind is LineKind.PERIOD and line.product_name is not None:
        return _describe(locale, kind, line.quantity, start, end, product=line.product_name)
    if kind is not LineKind.PERIOD and line.period_days is not None:
        return _describe(locale, kind, line.quantity, start, end, used=(end - start).days, period=line.period_days)
    return line.description


def period_key(sub_id: int, anchor: datetime, index: int) -> str:
    """What makes a whole-period charge unique: the subscription, its anchor and the period (R20)."""
    return f"period:{sub_id}:{anchor.date().isoformat()}:{index}"


def period_line(
    *,
    sub_id: int,
    org_id: int,
    anchor: datetime,
    index: int,
    seats: int,
    unit_price: int,
    currency: str,
    period: Period,
    product_name: str,
    locale: str,
    at: datetime,
    bill_on: datetime,
) -> dict[str, Any]:
    """The row of a whole period's charge; its key makes it unique per subscription and period (R20)."""
    return dict(
        org_id=org_id,
        subscription_id=sub_id,
        kind=LineKind.PERIOD.value,
        description=_describe(locale, LineKind.PERIOD, seats, period.start, period.end, product=product_name),
        quantity=seats,
        product_name=product_name,
        period_days=None,
        amount=unit_price * seats,
        currency=currency,
        period_start=period.start,
        period_end=period.end,
        created_at=at,
        bill_on=bill_on,
        key=period_key(sub_id, anchor, index),
        invoice_id=None,
    )


class Billable(Protocol):
    """What billing needs of a subscription, without knowing subscriptions."""

    id: int
    org_id: int
    anchor: datetime
    period_index: int
    seats: int
    unit_price: int
    currency: str


def _locale(session: Session, org_id: int) -> str:
    return get_existing(session, Organization, org_id).locale


def bill_period(session: Session, *, sub: Billable, period: Period, product_name: str, at: datetime) -> Charge | None:
    """Charge a whole period in advance, once per subscription and period (R3, R20)."""
    row = period_line(
        sub_id=sub.id,
        org_id=sub.org_id,
        anchor=sub.anchor,
        index=sub.period_index,
        seats=sub.seats,
        unit_price=sub.unit_price,
        currency=sub.currency,
        period=period,
        product_name=product_name,
        locale=_locale(session, sub.org_id),
        at=at,
        bill_on=_billing_date(session, org_id=sub.org_id, wanted=period.start, at=at),
    )
    if session.scalar(select(Charge.id).where(Charge.key == row["key"])) is not None:
        return None
    charge = Charge(**row)
    session.add(charge)
    return charge


def bill_proration(
    session: Session,
    *,
    sub: Billable,
    kind: LineKind,
    proration: Proration,
    period: Period,
    at: datetime,
    bill_on: datetime,
) -> Charge | None:
    """A prorated charge (seats bought, reactivation) or credit (seats removed, cancellation) (R12, R15)."""
    if proration.days == 0:
        return None
    credit = kind in (LineKind.SEATS_REMOVED, LineKind.CANCELLATION)
    if credit:  # back within the period it was cut from, and within a month (R16)
        bill_on = credit_returned_by(arose=at, period_end=bill_on)
    end = add_days(proration.first_day, proration.days)
    charge = Charge(
        org_id=sub.org_id,
        subscription_id=sub.id,
        kind=kind.value,
        description=_describe(
            _locale(session, sub.org_id),
            kind,
            proration.seats,
            proration.first_day,
            end,
            used=proration.days,
            period=period.days,
        ),
        quantity=proration.seats,
        period_days=period.days,
        amount=-proration.amount.amount if credit else proration.amount.amount,
        currency=sub.currency,
        period_start=proration.first_day,
        period_end=end,
        created_at=at,
        bill_on=_billing_date(session, org_id=sub.org_id, wanted=bill_on, at=at),
    )
    session.add(charge)
    return charge


def credit_issued(session: Session, *, charge: Charge | None, at: datetime) -> None:
    """After the change that gave a prorated credit: its credit note if it corrects an invoice (R25), and the
    `credit.issued` event."""
    if charge is not None and charge.amount < 0:
        credit_notes.issue(session, line=charge, at=at)
        events.publish(
            session,
            type="credit.issued",
            org_id=charge.org_id,
            data={"object": "credit", **events.snapshot(charge)},
            at=at,
        )


def period_billed(session: Session, *, sub_id: int, anchor: datetime, index: int) -> bool:
    """Whether a subscription's period has its whole-period charge already."""
    return session.scalar(select(Charge.id).where(Charge.key == period_key(sub_id, anchor, index))) is not None
