"""R15: proration by whole days; a seat held on a day is paid for that day; half up once per line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from seatwise.core.money import Money
from seatwise.core.periods import Interval, Period, period_at
from seatwise.core.proration import charge_for_remaining_days, credit_for_unused_days


def utc(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


NOVEMBER_2026 = Period(utc(2026, 11, 1), utc(2026, 12, 1))  # 30 days
JANUARY_2027 = Period(utc(2027, 1, 1), utc(2027, 2, 1))  # 31 days


def half_up(numerator: int, denominator: int) -> int:
    """An independent oracle: Decimal arithmetic with ROUND_HALF_UP."""
    return int((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_r15_cancel_on_day_3_of_30_credits_27_30():
    # 10 seats × €12.50 = €125.00 for the period; 27/30 of it is €112.50.
    credit = credit_for_unused_days(
        unit_price=Money(1250, "EUR"), seats=10, period=NOVEMBER_2026, on=utc(2026, 11, 3, 14, 5)
    )
    assert credit.amount == Money(11250, "EUR")
    assert credit.days == 27
    assert credit.days_in_period == 30
    assert credit.seats == 10
    assert credit.first_day == utc(2026, 11, 4)  # the first unused day is the day after day 3


def test_r15_r14_jpy_1000_times_3_seats_cancel_on_day_10_of_31_credits_2032_yen():
    # ¥3,000 × 21/31 = ¥2,032.26 → ¥2,032 (JPY has no minor unit, so the yen is the unit).
    credit = credit_for_unused_days(unit_price=Money(1000, "JPY"), seats=3, period=JANUARY_2027, on=utc(2027, 1, 10, 8))
    assert credit.amount == Money(2032, "JPY")
    assert credit.days == 21
    assert credit.amount.decimal_string() == "2032"


def test_r15_r14_kwd_three_decimals_rounds_half_up_once():
    # 12.345 KWD × 27/30 = 11.1105 KWD → 11.111 (exactly half a fils, rounded up).
    credit = credit_for_unused_days(unit_price=Money(12345, "KWD"), seats=1, period=NOVEMBER_2026, on=utc(2026, 11, 3))
    assert credit.amount == Money(11111, "KWD")
    assert credit.amount.decimal_string() == "11.111"


def test_r15_rounding_happens_once_per_line_not_per_seat():
    # €0.10 × 7 seats × 1/30: per line 70/30 = 2.33 → 2 cents; per seat it would be 7 × 0 = 0.
    credit = credit_for_unused_days(unit_price=Money(10, "EUR"), seats=7, period=NOVEMBER_2026, on=utc(2026, 11, 29))
    assert credit.days == 1
    assert credit.amount == Money(2, "EUR")


def test_r15_buy_on_day_3_of_30_charges_28_30():
    # Day 3 itself is held, so it is paid: days 3..30 are 28 days. €125.00 × 28/30 = €116.666… → €116.67.
    charge = charge_for_remaining_days(
        unit_price=Money(1250, "EUR"), seats=10, period=NOVEMBER_2026, on=utc(2026, 11, 3, 23, 59)
    )
    assert charge.amount == Money(11667, "EUR")
    assert charge.days == 28
    assert charge.first_day == utc(2026, 11, 3)


def test_r15_buy_on_day_1_charges_the_full_period_and_on_the_last_day_one_day():
    price = Money(1250, "EUR")
    first = charge_for_remaining_days(unit_price=price, seats=4, period=NOVEMBER_2026, on=utc(2026, 11, 1, 9))
    last = charge_for_remaining_days(unit_price=price, seats=4, period=NOVEMBER_2026, on=utc(2026, 11, 30, 9))
    assert first.amount == Money(5000, "EUR") and first.days == 30
    assert last.amount == Money(167, "EUR") and last.days == 1  # 5000/30 = 166.67 → 167


def test_r15_cancel_on_the_last_day_credits_nothing_and_on_day_1_all_but_one_day():
    price = Money(1250, "EUR")
    last = credit_for_unused_days(unit_price=price, seats=4, period=NOVEMBER_2026, on=utc(2026, 11, 30, 23))
    first = credit_for_unused_days(unit_price=price, seats=4, period=NOVEMBER_2026, on=utc(2026, 11, 1))
    assert last.amount == Money(0, "EUR") and last.days == 0
    assert last.first_day == NOVEMBER_2026.end
    assert first.amount == Money(4833, "EUR") and first.days == 29  # 5000 × 29/30 = 4833.33 → 4833


def test_r15_the_day_is_the_utc_day():
    # 3 Nov 2026 23:30 at UTC-05:00 is already 4 Nov in UTC: day 4, 26 days left.
    on = datetime(2026, 11, 3, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    credit = credit_for_unused_days(unit_price=Money(3000, "EUR"), seats=1, period=NOVEMBER_2026, on=on)
    assert credit.days == 26
    assert credit.amount == Money(2600, "EUR")


def test_r15_r6_reactivation_on_day_16_of_30_charges_the_15_days_left():
    # A disabled subscription reactivated on 15 April keeps its billing date (period 31 Mar → 30 Apr).
    period = period_at(utc(2027, 1, 31), Interval.MONTHLY, 2)
    assert period == Period(utc(2027, 3, 31), utc(2027, 4, 30))
    charge = charge_for_remaining_days(unit_price=Money(1250, "EUR"), seats=10, period=period, on=utc(2027, 4, 15, 10))
    assert charge.days == 15
    assert charge.amount == Money(6250, "EUR")


# --- properties -------------------------------------------------------------------------

prices = st.integers(0, 10**7)
seat_counts = st.integers(1, 500)
periods = st.builds(
    period_at,
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)),
    st.sampled_from(list(Interval)),
    st.integers(0, 30),
)


@st.composite
def a_day_in(draw, period: Period) -> tuple[int, datetime]:
    day = draw(st.integers(1, period.days))
    seconds = draw(st.integers(0, 86_399))
    return day, period.start + timedelta(days=day - 1, seconds=seconds)


@settings(max_examples=200, deadline=None)
@given(price=prices, seats=seat_counts, period=periods, data=st.data())
def test_r15_credit_never_exceeds_what_the_period_cost_and_matches_the_formula(price, seats, period, data):
    day, on = data.draw(a_day_in(period))
    full = price * seats
    credit = credit_for_unused_days(unit_price=Money(price, "EUR"), seats=seats, period=period, on=on)
    assert 0 <= credit.amount.amount <= full
    assert credit.days == period.days - day
    assert credit.amount.amount == half_up(full * (period.days - day), period.days)
    # What was kept pays for days 1..d, to within the single rounding of the credit line.
    kept = full - credit.amount.amount
    assert abs(Decimal(kept) - Decimal(full * day) / period.days) <= Decimal("0.5")


@settings(max_examples=200, deadline=None)
@given(price=prices, seats=seat_counts, period=periods, data=st.data())
def test_r15_charge_never_exceeds_the_period_and_matches_the_formula(price, seats, period, data):
    day, on = data.draw(a_day_in(period))
    full = price * seats
    charge = charge_for_remaining_days(unit_price=Money(price, "EUR"), seats=seats, period=period, on=on)
    assert 0 <= charge.amount.amount <= full
    assert charge.days == period.days - day + 1
    assert charge.amount.amount == half_up(full * (period.days - day + 1), period.days)
    assert charge.first_day == period.start + timedelta(days=day - 1)


@settings(max_examples=200, deadline=None)
@given(price=prices, seats=seat_counts, period=periods, data=st.data())
def test_r15_charge_and_credit_on_the_same_day_leave_exactly_that_day_paid(price, seats, period, data):
    """A seat bought and removed on day d was held on day d: that day is paid, nothing else.

    R15 makes a charge on day d cover days d..end and a credit on day d cover days d+1..end,
    so charge + credit on the same day is not the full period; what does hold (checked here):
    charge(d) − credit(d) is one day, credit(d−1) == charge(d) (the same days), and the charge
    for days d..end plus the price of days 1..d−1 is the full period to within rounding.
    """
    day, on = data.draw(a_day_in(period))
    full = price * seats
    unit = Money(price, "EUR")
    charge = charge_for_remaining_days(unit_price=unit, seats=seats, period=period, on=on).amount.amount
    credit = credit_for_unused_days(unit_price=unit, seats=seats, period=period, on=on).amount.amount
    assert abs(Decimal(charge - credit) - Decimal(full) / period.days) <= 1
    if day > 1:
        previous = credit_for_unused_days(unit_price=unit, seats=seats, period=period, on=on - timedelta(days=1))
        assert previous.amount.amount == charge
        assert previous.first_day == period.start + timedelta(days=day - 1)
    days_before = half_up(full * (day - 1), period.days)
    assert abs(charge + days_before - full) <= 1
