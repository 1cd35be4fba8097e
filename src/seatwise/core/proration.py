"""Per-day proration (R15): a seat held on a day is paid for that day; half up once per line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seatwise.core.money import Money
from seatwise.core.periods import Period, add_days


@dataclass(frozen=True, slots=True)
class Proration:
    """A prorated amount and the days it covers, so that a line can say what it is for."""

    amount: Money
    seats: int
    days: int
    days_in_period: int
    first_day: datetime  # midnight UTC of the first day covered (the period end when days == 0)


def credit_for_unused_days(*, unit_price: Money, seats: int, period: Period, on: datetime) -> Proration:
    """Credit for the days after day d when seats are removed or cancelled on day d."""
    day = period.day_number(on)
    unused = period.days - day
    amount = unit_price.times_fraction(seats * unused, period.days)
    return Proration(amount, seats, unused, period.days, add_days(period.start, day))


def charge_for_remaining_days(*, unit_price: Money, seats: int, period: Period, on: datetime) -> Proration:
    """Charge for day d up to the period's end when seats are added on day d (nothing once it has ended)."""
    day = period.day_number(on)
    remaining = 0 if on >= period.end else period.days - day + 1
    amount = unit_price.times_fraction(seats * remaining, period.days)
    return Proration(amount, seats, remaining, period.days, add_days(period.start, day - 1))
