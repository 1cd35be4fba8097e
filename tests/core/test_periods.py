"""R3: periods are anchored on the start date; a month lacking the anchor day clamps to its last day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatwise.core.periods import Interval, Period, index_containing, midnight, period_at, start_of_day


def utc(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def test_r3_jan_31_renews_feb_28_then_mar_31():
    anchor = utc(2027, 1, 31, 9, 30)
    starts = [period_at(anchor, Interval.MONTHLY, k).start for k in range(4)]
    assert starts == [utc(2027, 1, 31), utc(2027, 2, 28), utc(2027, 3, 31), utc(2027, 4, 30)]
    # The clamp does not stick: after February the anchor day comes back.
    assert period_at(anchor, Interval.MONTHLY, 1) == Period(utc(2027, 2, 28), utc(2027, 3, 31))


def test_r3_jan_31_period_lengths_follow_the_calendar():
    anchor = utc(2027, 1, 31)
    assert [period_at(anchor, Interval.MONTHLY, k).days for k in range(4)] == [28, 31, 30, 31]


def test_r3_jan_31_in_a_leap_year_clamps_to_feb_29():
    anchor = utc(2028, 1, 31)
    assert period_at(anchor, Interval.MONTHLY, 1).start == utc(2028, 2, 29)
    assert period_at(anchor, Interval.MONTHLY, 1).days == 31  # Feb 29 → Mar 31
    assert period_at(anchor, Interval.MONTHLY, 13).start == utc(2029, 2, 28)


def test_r3_annual_anchor_on_feb_29_clamps_then_comes_back_in_the_next_leap_year():
    anchor = utc(2028, 2, 29)
    starts = [period_at(anchor, Interval.ANNUAL, k).start for k in range(5)]
    assert starts == [utc(2028, 2, 29), utc(2029, 2, 28), utc(2030, 2, 28), utc(2031, 2, 28), utc(2032, 2, 29)]
    assert period_at(anchor, Interval.ANNUAL, 0).days == 365  # 2028-02-29 → 2029-02-28
    assert period_at(anchor, Interval.ANNUAL, 3).days == 366  # 2031-02-28 → 2032-02-29


def test_r3_periods_start_at_midnight_utc_whatever_the_hour_of_the_anchor():
    anchor = utc(2026, 11, 1, 23, 59)
    period = period_at(anchor, Interval.MONTHLY, 0)
    assert period == Period(utc(2026, 11, 1), utc(2026, 12, 1))
    assert period.days == 30


def test_r3_anchor_in_another_timezone_is_read_in_utc():
    # 1 Dec 2026 01:00 at UTC+02:00 is 30 Nov 2026 23:00 UTC: the anchor day is 30 November.
    anchor = datetime(2026, 12, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    assert period_at(anchor, Interval.MONTHLY, 0).start == utc(2026, 11, 30)
    assert period_at(anchor, Interval.MONTHLY, 3).start == utc(2027, 2, 28)


def test_r3_negative_period_index_is_refused():
    with pytest.raises(ValueError):
        period_at(utc(2027, 1, 1), Interval.MONTHLY, -1)


def test_r3_index_containing_examples():
    anchor = utc(2027, 1, 31, 9, 30)
    assert index_containing(anchor, Interval.MONTHLY, utc(2026, 12, 1)) == 0  # before the anchor
    assert index_containing(anchor, Interval.MONTHLY, utc(2027, 1, 31, 0, 0)) == 0  # anchor day, before its hour
    assert index_containing(anchor, Interval.MONTHLY, utc(2027, 2, 27, 23, 59)) == 0
    assert index_containing(anchor, Interval.MONTHLY, utc(2027, 2, 28)) == 1  # the end is not in the period
    assert index_containing(anchor, Interval.MONTHLY, utc(2027, 3, 30, 23, 59)) == 1
    assert index_containing(anchor, Interval.MONTHLY, utc(2027, 3, 31)) == 2
    assert index_containing(anchor, Interval.MONTHLY, utc(2028, 2, 29, 12)) == 13  # Feb 29 2028 → Mar 31 2028
    assert index_containing(anchor, Interval.ANNUAL, utc(2028, 1, 30)) == 0
    assert index_containing(anchor, Interval.ANNUAL, utc(2028, 1, 31)) == 1


def test_r3_day_number_counts_from_one_and_clamps_to_the_period():
    period = Period(utc(2026, 11, 1), utc(2026, 12, 1))
    assert period.day_number(utc(2026, 11, 1)) == 1
    assert period.day_number(utc(2026, 11, 3, 23, 59)) == 3
    assert period.day_number(utc(2026, 11, 30, 12)) == 30
    assert period.day_number(utc(2026, 10, 20)) == 1  # before the period
    assert period.day_number(utc(2027, 1, 15)) == 30  # after it


def test_r3_period_is_half_open():
    period = Period(utc(2026, 11, 1), utc(2026, 12, 1))
    assert period.contains(utc(2026, 11, 1))
    assert period.contains(utc(2026, 11, 30, 23, 59))
    assert not period.contains(utc(2026, 12, 1))
    assert not period.contains(utc(2026, 10, 31, 23, 59))


def test_r3_start_of_day_is_midnight_utc():
    assert start_of_day(datetime(2026, 11, 1, 0, 30, tzinfo=timezone(timedelta(hours=5)))) == utc(2026, 10, 31)
    assert midnight(date(2026, 11, 1)) == utc(2026, 11, 1)


# --- properties -------------------------------------------------------------------------

anchors = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(UTC))
intervals = st.sampled_from(list(Interval))


@settings(max_examples=200, deadline=None)
@given(anchor=anchors, interval=intervals, index=st.integers(0, 240))
def test_r3_consecutive_periods_never_skip_or_overlap(anchor, interval, index):
    this = period_at(anchor, interval, index)
    following = period_at(anchor, interval, index + 1)
    assert this.end == following.start
    assert this.start == start_of_day(this.start)  # whole days only
    if interval is Interval.MONTHLY:
        assert 28 <= this.days <= 31
        assert following.start.month == (this.start.month % 12) + 1  # exactly one calendar month on
    else:
        assert this.days in (365, 366)
        assert following.start.year == this.start.year + 1
    # The anchor day comes back whenever the month has it (the clamp never sticks).
    base = anchor.date()
    try:
        expected_day = following.start.date().replace(day=base.day).day
    except ValueError:  # the month is too short: last day of the month
        next_month_first = (following.start.date().replace(day=28) + timedelta(days=4)).replace(day=1)
        expected_day = (next_month_first - timedelta(days=1)).day
    assert following.start.day == expected_day


@settings(max_examples=200, deadline=None)
@given(anchor=anchors, interval=intervals, offset=st.timedeltas(timedelta(days=-400), timedelta(days=365 * 30)))
def test_r3_index_containing_agrees_with_period_at(anchor, interval, offset):
    at = anchor + offset
    index = index_containing(anchor, interval, at)
    if at < start_of_day(anchor):
        assert index == 0
    else:
        assert period_at(anchor, interval, index).contains(at)
        if index > 0:
            assert not period_at(anchor, interval, index - 1).contains(at)
