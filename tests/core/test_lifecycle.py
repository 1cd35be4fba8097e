"""R1–R6 and R19: the lifecycle trial → active → expired → disabled → deleted, driven by `as_of`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatwise.core.errors import Refused
from seatwise.core.lifecycle import (
    DEFAULT_TRIAL_DAYS,
    Event,
    Lifecycle,
    Reason,
    Status,
    Transition,
    cancel,
    deletion_date,
    next_transition,
    reactivate,
    set_recurring_billing,
    start_paid,
    start_trial,
)
from seatwise.core.periods import Interval, Period


def utc(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


T0 = utc(2026, 11, 1, 9, 30)  # November has 30 days


def run(state: Lifecycle, *, as_of: datetime, has_payment_method: bool) -> tuple[Lifecycle, list[Transition]]:
    """What a billing run does (R19): every transition due up to `as_of`, in order."""
    steps = []
    while (step := next_transition(state, as_of=as_of, payment_method_at=lambda _at: has_payment_method)) is not None:
        steps.append(step)
        state = step.after
        assert len(steps) < 10_000, "a billing run must terminate"
    return state, steps


# --- R1, R2: trials ---------------------------------------------------------------------


def test_r1_trial_lasts_trial_days_from_the_day_it_starts():
    state = start_trial(now=T0, interval=Interval.MONTHLY, trial_days=DEFAULT_TRIAL_DAYS)
    assert DEFAULT_TRIAL_DAYS == 30
    assert state.status is Status.TRIAL
    assert state.anchor == utc(2026, 11, 1)
    assert state.trial_end == utc(2026, 12, 1)
    assert state.current_period == Period(utc(2026, 11, 1), utc(2026, 12, 1))
    assert state.status is not Status.ACTIVE


def test_r1_nothing_happens_to_a_trial_before_it_ends():
    state = start_trial(now=T0, interval=Interval.MONTHLY, trial_days=30)
    assert next_transition(state, as_of=utc(2026, 11, 30, 23, 59), payment_method_at=lambda _at: True) is None
    assert next_transition(state, as_of=utc(2026, 11, 30, 23, 59), payment_method_at=lambda _at: False) is None


def test_r2_trial_with_payment_method_and_recurring_billing_converts_at_trial_end():
    state = start_trial(now=T0, interval=Interval.MONTHLY, trial_days=14)
    step = next_transition(state, as_of=utc(2026, 11, 15), payment_method_at=lambda _at: True)
    assert step.event is Event.CONVERTED
    assert step.at == utc(2026, 11, 15)
    after = step.after
    assert after.status is Status.ACTIVE
    assert after.reason is None and after.state_until is None
    # The first paid period starts at the trial end and is anchored there.
    assert after.anchor == utc(2026, 11, 15)
    assert after.period_index == 0
    assert after.current_period == Period(utc(2026, 11, 15), utc(2026, 12, 15))


@pytest.mark.parametrize(("has_payment_method", "recurring_billing"), [(False, True), (False, False), (True, False)])
def test_r2_trial_without_payment_method_or_recurring_billing_expires_then_is_deleted_30_days_later(
    has_payment_method, recurring_billing
):
    state = start_trial(now=T0, interval=Interval.MONTHLY, trial_days=30)
    state = set_recurring_billing(state, enabled=recurring_billing)
    final, steps = run(state, as_of=utc(2027, 6, 1), has_payment_method=has_payment_method)
    assert [(s.event, s.at) for s in steps] == [
        (Event.EXPIRED, utc(2026, 12, 1)),
        (Event.DELETED, utc(2026, 12, 31)),
    ]
    expired = steps[0].after
    assert expired.status is Status.EXPIRED
    assert expired.reason is Reason.TRIAL_ENDED
    assert expired.state_until == utc(2026, 12, 31)
    assert deletion_date(expired) == utc(2026, 12, 31)
    assert final.status is Status.DELETED


def test_r2_expired_trial_is_not_deleted_a_moment_early():
    state = start_trial(now=T0, interval=Interval.MONTHLY, trial_days=30)
    final, _ = run(state, as_of=utc(2026, 12, 30, 23, 59), has_payment_method=False)
    assert final.status is Status.EXPIRED
    final, _ = run(final, as_of=utc(2026, 12, 31), has_payment_method=False)
    assert final.status is Status.DELETED


def test_r2_r19_converted_trial_renews_monthly_from_the_trial_end():
    state = start_trial(now=T0, interval=Interval.MONTHLY, trial_days=30)
    final, steps = run(state, as_of=utc(2027, 3, 1), has_payment_method=True)
    assert [(s.event, s.at) for s in steps] == [
        (Event.CONVERTED, utc(2026, 12, 1)),
        (Event.RENEWED, utc(2027, 1, 1)),
        (Event.RENEWED, utc(2027, 2, 1)),
        (Event.RENEWED, utc(2027, 3, 1)),
    ]
    assert final.period_index == 3
    assert final.current_period == Period(utc(2027, 3, 1), utc(2027, 4, 1))


# --- R3, R4, R19: renewals and recurring billing off -----------------------------------


def test_r3_r19_renewals_for_many_elapsed_periods_follow_the_clamped_anchor():
    state = start_paid(now=utc(2027, 1, 31, 9, 30), interval=Interval.MONTHLY)
    assert state.anchor == utc(2027, 1, 31)
    final, steps = run(state, as_of=utc(2028, 3, 15), has_payment_method=True)
    assert all(s.event is Event.RENEWED for s in steps)
    assert [s.at for s in steps] == [
        utc(2027, 2, 28),
        utc(2027, 3, 31),
        utc(2027, 4, 30),
        utc(2027, 5, 31),
        utc(2027, 6, 30),
        utc(2027, 7, 31),
        utc(2027, 8, 31),
        utc(2027, 9, 30),
        utc(2027, 10, 31),
        utc(2027, 11, 30),
        utc(2027, 12, 31),
        utc(2028, 1, 31),
        utc(2028, 2, 29),
    ]
    assert final.status is Status.ACTIVE
    assert final.period_index == 13
    assert final.current_period == Period(utc(2028, 2, 29), utc(2028, 3, 31))


def test_r3_r19_annual_renewals_anchored_on_feb_29():
    state = start_paid(now=utc(2028, 2, 29, 18), interval=Interval.ANNUAL)
    final, steps = run(state, as_of=utc(2032, 3, 1), has_payment_method=True)
    assert [s.at for s in steps] == [utc(2029, 2, 28), utc(2030, 2, 28), utc(2031, 2, 28), utc(2032, 2, 29)]
    assert final.current_period == Period(utc(2032, 2, 29), utc(2033, 2, 28))


def test_r19_renewal_is_due_exactly_at_period_end_not_before():
    state = start_paid(now=T0, interval=Interval.MONTHLY)
    assert next_transition(state, as_of=utc(2026, 11, 30, 23, 59), payment_method_at=lambda _at: True) is None
    step = next_transition(state, as_of=utc(2026, 12, 1), payment_method_at=lambda _at: True)
    assert step.event is Event.RENEWED and step.after.period_index == 1


def test_r4_renewal_does_not_need_a_payment_method_on_file():
    # Renewal follows recurring billing (R4); collecting the money is the billing run's business (R21).
    state = start_paid(now=T0, interval=Interval.MONTHLY)
    step = next_transition(state, as_of=utc(2026, 12, 1), payment_method_at=lambda _at: False)
    assert step.event is Event.RENEWED


def test_r4_recurring_off_expires_30_days_then_disabled_90_days_then_deleted():
    state = start_paid(now=utc(2027, 1, 31, 9, 30), interval=Interval.MONTHLY)
    state = set_recurring_billing(state, enabled=False)
    final, steps = run(state, as_of=utc(2030, 1, 1), has_payment_method=True)
    assert [(s.event, s.at) for s in steps] == [
        (Event.EXPIRED, utc(2027, 2, 28)),  # end of the paid period
        (Event.DISABLED, utc(2027, 3, 30)),  # 28 Feb + 30 days
        (Event.DELETED, utc(2027, 6, 28)),  # 30 Mar + 90 days
    ]
    expired, disabled, deleted = (s.after for s in steps)
    assert (expired.status, expired.reason, expired.state_until) == (
        Status.EXPIRED,
        Reason.RECURRING_BILLING_OFF,
        utc(2027, 3, 30),
    )
    assert deletion_date(expired) == utc(2027, 6, 28)
    assert (disabled.status, disabled.reason, disabled.state_until) == (
        Status.DISABLED,
        Reason.RECURRING_BILLING_OFF,
        utc(2027, 6, 28),
    )
    assert deletion_date(disabled) == utc(2027, 6, 28)
    assert deleted.status is Status.DELETED and final == deleted
    assert deletion_date(deleted) is None


def test_r4_turning_recurring_billing_off_cancels_nothing_by_itself():
    state = start_paid(now=T0, interval=Interval.MONTHLY)
    off = set_recurring_billing(state, enabled=False)
    assert off.status is Status.ACTIVE
    assert off.current_period == state.current_period
    assert off.recurring_billing is False
    assert next_transition(off, as_of=utc(2026, 11, 30, 23), payment_method_at=lambda _at: True) is None
    assert deletion_date(off) is None
    # Turned back on before the period ends, the subscription simply renews.
    on = set_recurring_billing(off, enabled=True)
    assert next_transition(on, as_of=utc(2026, 12, 1), payment_method_at=lambda _at: True).event is Event.RENEWED


def test_r7_r4_recurring_billing_off_on_a_trial_with_payment_method_stops_the_conversion():
    state = set_recurring_billing(start_trial(now=T0, interval=Interval.MONTHLY, trial_days=30), enabled=False)
    assert state.status is Status.TRIAL
    step = next_transition(state, as_of=utc(2026, 12, 1), payment_method_at=lambda _at: True)
    assert step.event is Event.EXPIRED and step.after.reason is Reason.TRIAL_ENDED


@pytest.mark.parametrize("status", [Status.EXPIRED, Status.DISABLED, Status.DELETED])
def test_r4_recurring_billing_changes_only_on_trial_or_active(status):
    state = replace(start_paid(now=T0, interval=Interval.MONTHLY), status=status, state_until=utc(2027, 1, 1))
    with pytest.raises(Refused) as raised:
        set_recurring_billing(state, enabled=True)
    assert raised.value.code == "not_active"


# --- R5: cancellation -------------------------------------------------------------------


def test_r5_cancel_disables_at_once_and_deletes_after_90_days():
    state = start_paid(now=utc(2027, 1, 31, 9, 30), interval=Interval.MONTHLY)
    state, _ = run(state, as_of=utc(2027, 3, 2), has_payment_method=True)
    assert state.period_index == 1
    now = utc(2027, 3, 2, 15)
    canceled = cancel(state, now=now)
    assert canceled.status is Status.DISABLED
    assert canceled.reason is Reason.CANCELED
    assert canceled.state_until == utc(2027, 5, 31, 15)  # 2 Mar + 90 days
    assert canceled.recurring_billing is False
    assert canceled.anchor == state.anchor and canceled.period_index == 1
    assert deletion_date(canceled) == utc(2027, 5, 31, 15)
    final, steps = run(canceled, as_of=utc(2028, 1, 1), has_payment_method=True)
    assert [(s.event, s.at) for s in steps] == [(Event.DELETED, utc(2027, 5, 31, 15))]
    assert final.status is Status.DELETED
    assert final.reason is Reason.CANCELED  # why it went still shows


def test_r5_cancelled_subscription_never_renews():
    canceled = cancel(start_paid(now=T0, interval=Interval.MONTHLY), now=utc(2026, 11, 3))
    _final, steps = run(canceled, as_of=utc(2027, 2, 1), has_payment_method=True)  # past the old period end
    assert [s.event for s in steps] == [Event.DELETED]
    assert steps[0].at == utc(2027, 2, 1)  # 3 Nov + 90 days
    assert Event.RENEWED not in [s.event for s in steps]


@pytest.mark.parametrize("status", [Status.TRIAL, Status.EXPIRED, Status.DISABLED, Status.DELETED])
def test_r5_only_an_active_subscription_can_be_cancelled(status):
    base = start_trial(now=T0, interval=Interval.MONTHLY, trial_days=30)
    state = replace(base, status=status)
    with pytest.raises(Refused) as raised:
        cancel(state, now=utc(2026, 11, 3))
    assert raised.value.code == "not_active"
    assert raised.value.status == 409


# --- R6: reactivation -------------------------------------------------------------------


def test_r6_reactivate_from_expired_starts_a_new_period_today():
    state = set_recurring_billing(start_paid(now=utc(2027, 1, 31), interval=Interval.MONTHLY), enabled=False)
    expired, _ = run(state, as_of=utc(2027, 3, 10), has_payment_method=True)
    assert expired.status is Status.EXPIRED
    active = reactivate(expired, now=utc(2027, 3, 10, 14))
    assert active.status is Status.ACTIVE
    assert active.reason is None and active.state_until is None
    assert active.recurring_billing is True
    assert active.anchor == utc(2027, 3, 10)
    assert active.period_index == 0
    assert active.current_period == Period(utc(2027, 3, 10), utc(2027, 4, 10))
    # The new anchor drives the renewals from now on.
    _final, steps = run(active, as_of=utc(2027, 4, 10), has_payment_method=True)
    assert [(s.event, s.at) for s in steps] == [(Event.RENEWED, utc(2027, 4, 10))]


def test_r6_reactivate_an_expired_trial_starts_paying_today():
    expired, _ = run(
        start_trial(now=T0, interval=Interval.MONTHLY, trial_days=30), as_of=utc(2026, 12, 5), has_payment_method=False
    )
    active = reactivate(expired, now=utc(2026, 12, 5, 11))
    assert active.status is Status.ACTIVE
    assert active.current_period == Period(utc(2026, 12, 5), utc(2027, 1, 5))


def test_r6_reactivate_from_disabled_keeps_the_billing_date():
    state = start_paid(now=utc(2027, 1, 31, 9, 30), interval=Interval.MONTHLY)
    state, _ = run(state, as_of=utc(2027, 3, 2), has_payment_method=True)
    canceled = cancel(state, now=utc(2027, 3, 2, 15))
    # Still disabled on 15 April (deletion is on 31 May); the period containing 15 April is 31 Mar → 30 Apr.
    canceled, steps = run(canceled, as_of=utc(2027, 4, 15, 10), has_payment_method=True)
    assert steps == [] and canceled.status is Status.DISABLED
    active = reactivate(canceled, now=utc(2027, 4, 15, 10))
    assert active.status is Status.ACTIVE
    assert active.reason is None and active.state_until is None
    assert active.recurring_billing is True
    assert active.anchor == utc(2027, 1, 31)
    assert active.period_index == 2
    assert active.current_period == Period(utc(2027, 3, 31), utc(2027, 4, 30))
    _final, steps = run(active, as_of=utc(2027, 4, 30), has_payment_method=True)
    assert [(s.event, s.at) for s in steps] == [(Event.RENEWED, utc(2027, 4, 30))]


def test_r6_reactivate_disabled_after_recurring_off_keeps_the_anchor():
    state = set_recurring_billing(start_paid(now=utc(2027, 1, 31), interval=Interval.MONTHLY), enabled=False)
    disabled, _ = run(state, as_of=utc(2027, 4, 1), has_payment_method=True)
    assert disabled.status is Status.DISABLED  # expired 28 Feb, disabled 30 Mar
    active = reactivate(disabled, now=utc(2027, 5, 31, 8))
    assert active.anchor == utc(2027, 1, 31)
    assert active.current_period == Period(utc(2027, 5, 31), utc(2027, 6, 30))
    assert active.period_index == 4


def test_r6_deleted_cannot_be_reactivated():
    canceled = cancel(start_paid(now=T0, interval=Interval.MONTHLY), now=utc(2026, 11, 3))
    deleted, _ = run(canceled, as_of=utc(2027, 3, 1), has_payment_method=True)
    assert deleted.status is Status.DELETED
    with pytest.raises(Refused) as raised:
        reactivate(deleted, now=utc(2027, 3, 1))
    assert raised.value.code == "deleted"


@pytest.mark.parametrize(
    "make",
    [
        lambda: start_paid(now=T0, interval=Interval.MONTHLY),
        lambda: start_trial(now=T0, interval=Interval.MONTHLY, trial_days=30),
    ],
)
def test_r6_active_or_trial_is_not_reactivated(make):
    with pytest.raises(Refused) as raised:
        reactivate(make(), now=utc(2026, 11, 3))
    assert raised.value.code == "not_reactivatable"


def test_r5_deleted_is_terminal():
    deleted, _ = run(
        cancel(start_paid(now=T0, interval=Interval.MONTHLY), now=T0), as_of=utc(2027, 3, 1), has_payment_method=True
    )
    assert next_transition(deleted, as_of=utc(2100, 1, 1), payment_method_at=lambda _at: True) is None


# --- R19: properties of a billing run ---------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2080, 1, 1), timezones=st.just(UTC)),
    interval=st.sampled_from(list(Interval)),
    trial_days=st.integers(0, 90),
    has_payment_method=st.booleans(),
    recurring=st.booleans(),
    span=st.integers(0, 3 * 366),
    split=st.integers(0, 3 * 366),
)
def test_r19_billing_run_is_ordered_and_running_in_two_steps_equals_one(
    start, interval, trial_days, has_payment_method, recurring, span, split
):
    state = set_recurring_billing(start_trial(now=start, interval=interval, trial_days=trial_days), enabled=recurring)
    as_of = start + timedelta(days=span)
    midway = start + timedelta(days=min(split, span))
    final, steps = run(state, as_of=as_of, has_payment_method=has_payment_method)
    # Transitions come in time order and none is due after as_of.
    times = [s.at for s in steps]
    assert times == sorted(times)
    assert all(t <= as_of for t in times)
    # A run interrupted at any point and run again reaches the same state with the same steps.
    half, first_steps = run(state, as_of=midway, has_payment_method=has_payment_method)
    again, second_steps = run(half, as_of=as_of, has_payment_method=has_payment_method)
    assert again == final
    assert first_steps + second_steps == steps
    # Running it again changes nothing.
    assert run(final, as_of=as_of, has_payment_method=has_payment_method)[1] == []
    # A converted, recurring subscription is never anything but active.
    if has_payment_method and recurring and as_of >= state.trial_end:
        assert final.status is Status.ACTIVE
        assert final.current_period.contains(as_of)
