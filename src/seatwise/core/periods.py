"""Billing periods anchored on a start date; a month lacking the anchor day clamps (R3).

Periods run from midnight UTC to midnight UTC: Seatwise bills whole days (R15), so the
day a subscription starts is a paid day whatever its hour.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from dateutil.relativedelta import relativedelta


class Interval(enum.StrEnum):
    MONTHLY = "monthly"
    ANNUAL = "annual"

    @property
    def months(self) -> int:
        return 1 if self is Interval.MONTHLY else 12


def midnight(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def start_of_day(at: datetime) -> datetime:
    """Midnight UTC of the day `at` falls on."""
    return midnight(at.astimezone(UTC).date())


def add_days(at: datetime, days: int) -> datetime:
    """`at` moved by whole days."""
    return at + timedelta(days=days)


def add_months(at: datetime, months: int) -> datetime:
    """`at` moved by calendar months, clamped to a shorter month's last day."""
    return at + relativedelta(months=months)


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open billing period [start, end) of whole days."""

    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        """How many days the period has."""
        return (self.end.date() - self.start.date()).days

    def contains(self, at: datetime) -> bool:
        """Whether `at` falls within the period."""
        return self.start <= at < self.end

    def day_number(self, at: datetime) -> int:
        """Which day of the period `at` falls on: 1 for the first day, clamped to the period."""
        day = (at.astimezone(UTC).date() - self.start.date()).days + 1
        return min(max(day, 1), self.days)


@lru_cache(maxsize=65536)  # a billing run asks for the same few anchors and periods again and again
def period_at(anchor: datetime, interval: Interval, index: int) -> Period:
    """Period number `index` (0 = the first) of a subscription anchored on `anchor`."""
    if index < 0:
        raise ValueError("period index must be >= 0")
    base = anchor.astimezone(UTC).date()
    start = base + relativedelta(months=interval.months * index)
    end = base + relativedelta(months=interval.months * (index + 1))
    return Period(midnight(start), midnight(end))


def index_containing(anchor: datetime, interval: Interval, at: datetime) -> int:
    """Index of the period that contains `at` (0 if `at` precedes the anchor)."""
    base = anchor.astimezone(UTC).date()
    target = at.astimezone(UTC).date()
    if target <= base:
        return 0
    elapsed = relativedelta(target, base)
    index = (elapsed.years * 12 + elapsed.months) // interval.months
    # relativedelta's month count can be one off around clamped month ends.
    while index > 0 and period_at(anchor, interval, index).start > at:
        index -= 1
    while period_at(anchor, interval, index).end <= at:
        index += 1
    return index
