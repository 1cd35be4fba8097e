"""The operator's figures per calendar month: recurring revenue, subscriptions started and churned.

Everything comes from what billing and the audit log already record, in three narrow queries
whatever the number of months (the third one more per 900 subscriptions churned in the last
year or so); the month bucketing is done here in Python, because SQLite keeps times as text
and has no portable date functions.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from seatwise.billing.models import Charge
from seatwise.core.invoicing import LineKind
from seatwise.core.money import divide_half_up
from seatwise.events.models import AuditEntry

# A subscription starts paying with these audit actions, and stops (churns) with the others.
STARTS = ("subscription.started", "subscription.converted")
RESUMES = ("subscription.reactivated",)
STOPS = ("subscription.canceled", "subscription.expired", "subscription.disabled")
NOT_PAYING = ("subscription.trial_started",)
ANNUAL_AFTER = timedelta(days=31)  # a period longer than any month is a year
YEAR = timedelta(days=366)  # the longest period
CHUNK = 900  # ids per query: below the 999 bound variables of old SQLite builds


@dataclass(frozen=True)
class MonthFigures:
    """One calendar month: MRR per currency on its first day, and subscriptions started and churned in it."""

    month_start: datetime  # midnight UTC on the 1st
    mrr: dict[str, int]  # currency -> minor units per month
    churned: int
    started: int


def month_starts(*, now: datetime, months: int) -> list[datetime]:
    """The firsts of the `months` calendar months ending with the one holding `now`, oldest first."""
    if now.tzinfo is None:
        raise ValueError("naive datetime: expected a UTC-aware time")
    now = now.astimezone(UTC)
    last = datetime(now.year, now.month, 1, tzinfo=UTC)
    return [last - relativedelta(months=back) for back in range(months - 1, -1, -1)]


def monthly_revenue(session: Session, *, now: datetime, months: int = 12) -> list[MonthFigures]:
    """MRR, started and churned subscriptions for the `months` calendar months up to `now`, oldest first.

    MRR on a month's first day is the sum of the whole-period charges whose days include that
    instant, a yearly charge counting for a twelfth (summed per currency first, then divided once,
    half up), leaving out subscriptions that were not paying then (cancelled, expired or disabled,
    whose annual charge would otherwise count for the rest of the year). Mid-period seat changes
    count from the next renewal, whose charge has the new seat count.

    A subscription *starts* when bought or when its trial converts to paid; reactivation resumes
    it without counting as a start. It *churns* when it stops paying: cancelled, expired at a period
    end without renewal, or disabled for non-payment; a trial that ends unpaid never paid, so it is
    not churn, and an expired subscription being disabled later is not churn again. Each
    subscription counts at most once per month in each figure.
    """
    if months < 1:
        return []
    firsts = month_starts(now=now, months=months)
    end = firsts[-1] + relativedelta(months=1)
    monthly: list[defaultdict[str, int]] = [defaultdict(int) for _ in firsts]
    annual: list[defaultdict[str, int]] = [defaultdict(int) for _ in firsts]

    def bucket(start: datetime, stop: datetime) -> list[defaultdict[str, int]]:
        return annual if stop - start > ANNUAL_AFTER else monthly

    in_force = (Charge.kind == LineKind.PERIOD.value, Charge.period_start <= firsts[-1], Charge.period_end > firsts[0])
    # Period lines sharing their days collapse into one row: a few hundred rows for thousands of lines.
    for start, stop, currency, amount in session.execute(
        select(Charge.period_start, Charge.period_end, Charge.currency, func.sum(Charge.amount))
        .where(*in_force)
        .group_by(Charge.period_start, Charge.period_end, Charge.currency)
    ):
        for i in _firsts_within(firsts, start, stop):
            bucket(start, stop)[i][currency] += int(amount)  # PostgreSQL sums bigints as numeric

    history = _history(session, before=end)
    started: list[set[int]] = [set() for _ in firsts]
    churned: list[set[int]] = [set() for _ in firsts]
    for sub_id, events in history.items():
        paying = True
        for at, action in events:
            i = bisect_right(firsts, at) - 1  # -1 before the first month
            if action in STARTS and i >= 0:
                started[i].add(sub_id)
            if action in STOPS and paying and i >= 0:
                churned[i].add(sub_id)
            paying = action in STARTS + RESUMES

    # Take back the lines of subscriptions that had stopped paying when a month began. A period lasts
    # a year at most and none is billed while stopped, so only stops since a year before the first
    # month can matter: a short list of ids, asked for in chunks that any SQLite accepts.
    recent = firsts[0] - YEAR
    stopped = sorted(
        sub_id for sub_id, events in history.items() if any(action in STOPS and at > recent for at, action in events)
    )
    for chunk in range(0, len(stopped), CHUNK):
        for sub_id, start, stop, currency, amount in session.execute(
            select(
                Charge.subscription_id, Charge.period_start, Charge.period_end, Charge.currency, Charge.amount
            ).where(*in_force, Charge.subscription_id.in_(stopped[chunk : chunk + CHUNK]))
        ):
            for i in _firsts_within(firsts, start, stop):
                if not _paying(history[sub_id], firsts[i]):
                    bucket(start, stop)[i][currency] -= amount

    currencies = sorted({c for sums in monthly + annual for c in sums})
    return [
        MonthFigures(
            month_start=first,
            mrr={c: monthly[i][c] + divide_half_up(annual[i][c], 12) for c in currencies},
            churned=len(churned[i]),
            started=len(started[i]),
        )
        for i, first in enumerate(firsts)
    ]


def _history(session: Session, *, before: datetime) -> dict[int, list[tuple[datetime, str]]]:
    """Each subscription's audit entries that start or stop its payments, oldest first."""
    history: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for sub_id, at, action in session.execute(
        select(AuditEntry.entity_id, AuditEntry.at, AuditEntry.action)
        .where(
            AuditEntry.entity == "subscriptions",
            AuditEntry.at < before,
            AuditEntry.action.in_(STARTS + RESUMES + STOPS + NOT_PAYING),
        )
        .order_by(AuditEntry.at, AuditEntry.id)
    ):
        history[sub_id].append((at, action))
    return history


def _firsts_within(firsts: list[datetime], start: datetime, stop: datetime) -> range:
    """The indexes of the month starts within [start, stop)."""
    return range(bisect_left(firsts, start), bisect_left(firsts, stop))


def _paying(events: list[tuple[datetime, str]], at: datetime) -> bool:
    """Whether the last of these events up to `at` left the subscription paying (yes, before any)."""
    before = [action for when, action in events if when <= at]
    return not before or before[-1] in STARTS + RESUMES
