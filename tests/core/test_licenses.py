"""R1, R11, R12, R13: seat changes and licence assignments."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from seatwise.core.errors import BadInput, Refused
from seatwise.core.licenses import ASSIGNABLE, SeatChange, can_restore, check_assign, check_seat_change
from seatwise.core.lifecycle import Lifecycle, Status, start_paid, start_trial
from seatwise.core.periods import Interval
from seatwise.core.policy import Policy, Profile


def utc(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


T0 = utc(2026, 11, 1, 9, 30)  # first period 1 Nov → 1 Dec 2026
WINDOW = Policy(profile=Profile.WINDOW)


def active() -> Lifecycle:
    return start_paid(now=T0, interval=Interval.MONTHLY)


def change(
    new_total: int,
    *,
    state: Lifecycle | None = None,
    policy: Policy = Policy(),
    seats: int = 10,
    assigned: int = 5,
    max_seats: int | None = None,
    is_operator: bool = False,
    now: datetime = utc(2026, 11, 3),
) -> SeatChange:
    return check_seat_change(
        state=state or active(),
        policy=policy,
        seats=seats,
        new_total=new_total,
        assigned=assigned,
        max_seats=max_seats,
        is_operator=is_operator,
        now=now,
    )


# --- R1: trial seats are fixed ----------------------------------------------------------


@pytest.mark.parametrize("new_total", [5, 20])
def test_r1_trial_seats_cannot_be_bought_or_removed(new_total):
    trial = start_trial(now=T0, interval=Interval.MONTHLY, trial_days=30)
    with pytest.raises(Refused) as raised:
        change(new_total, state=trial, seats=10, assigned=2)
    assert raised.value.code == "trial_seats_fixed"


def test_r1_r13_trial_licences_can_be_assigned():
    check_assign(status=Status.TRIAL, seats=10, assigned=9)  # no exception: a seat is free


# --- R12: buying and removing licences --------------------------------------------------


def test_r12_buying_raises_the_seat_count_at_once():
    result = change(15, seats=10, assigned=10)
    assert result == SeatChange(10, 15)
    assert result.delta == 5


def test_r12_removing_down_to_the_number_assigned_is_allowed():
    result = change(5, seats=10, assigned=5)
    assert result == SeatChange(10, 5)
    assert result.delta == -5


def test_r12_removing_below_the_number_assigned_needs_unassigning_first():
    with pytest.raises(Refused) as raised:
        change(4, seats=10, assigned=7)
    assert raised.value.code == "below_assigned"
    assert raised.value.detail == {"remedy": {"action": "unassign_licenses", "count": 3}}


@pytest.mark.parametrize("new_total", [0, -3])
def test_r12_a_total_below_one_is_bad_input(new_total):
    with pytest.raises(BadInput) as raised:
        change(new_total, seats=10, assigned=0)
    assert raised.value.code == "invalid_seats"


def test_r12_product_seat_cap():
    assert change(300, seats=10, assigned=1, max_seats=300).after == 300
    with pytest.raises(Refused) as raised:
        change(301, seats=10, assigned=1, max_seats=300)
    assert raised.value.code == "seat_cap_exceeded"
    assert raised.value.detail == {"max_seats": 300}


def test_r12_the_operator_is_bound_by_the_seat_cap_too():
    with pytest.raises(Refused) as raised:
        change(301, seats=10, assigned=1, max_seats=300, is_operator=True)
    assert raised.value.code == "seat_cap_exceeded"


@pytest.mark.parametrize("status", [Status.EXPIRED, Status.DISABLED, Status.DELETED])
def test_r12_r4_licences_change_only_on_an_active_subscription(status):
    state = replace(active(), status=status, state_until=utc(2027, 1, 1))
    for new_total in (5, 20):
        with pytest.raises(Refused) as raised:
            change(new_total, state=state, seats=10, assigned=1)
        assert raised.value.code == "not_active"


# --- R11: the window profile for removing licences --------------------------------------


def test_r11_window_removal_allowed_within_7_days():
    assert change(6, policy=WINDOW, seats=10, assigned=2, now=utc(2026, 11, 7, 23, 59)).after == 6


def test_r11_window_removal_refused_after_7_days_with_recurring_off_remedy():
    with pytest.raises(Refused) as raised:
        change(6, policy=WINDOW, seats=10, assigned=2, now=utc(2026, 11, 8))
    assert raised.value.code == "outside_cancellation_window"
    assert raised.value.detail == {"remedy": {"action": "turn_off_recurring_billing", "count": None}}


def test_r11_window_never_limits_buying():
    assert change(20, policy=WINDOW, seats=10, assigned=2, now=utc(2026, 11, 25)).after == 20


def test_r11_operator_may_remove_licences_outside_the_window():
    assert change(6, policy=WINDOW, seats=10, assigned=2, is_operator=True, now=utc(2026, 11, 25)).after == 6


def test_r11_r12_operator_still_cannot_remove_below_assigned():
    with pytest.raises(Refused) as raised:
        change(1, seats=10, assigned=2, is_operator=True)
    assert raised.value.code == "below_assigned"


def test_r11_standard_profile_removes_any_day():
    assert change(6, seats=10, assigned=2, now=utc(2026, 11, 29)).after == 6


# --- R13: assignments -------------------------------------------------------------------


def test_r13_assignment_refused_when_every_seat_is_taken():
    with pytest.raises(Refused) as raised:
        check_assign(status=Status.ACTIVE, seats=10, assigned=10)
    assert raised.value.code == "no_free_licenses"
    assert raised.value.detail == {"seats": 10, "assigned": 10}


def test_r13_r4_expired_users_keep_access_so_licences_can_still_be_assigned():
    check_assign(status=Status.EXPIRED, seats=10, assigned=3)
    assert Status.EXPIRED in ASSIGNABLE


@pytest.mark.parametrize("status", [Status.DISABLED, Status.DELETED])
def test_r13_r4_no_assignment_on_disabled_or_deleted(status):
    with pytest.raises(Refused) as raised:
        check_assign(status=status, seats=10, assigned=0)
    assert raised.value.code == "not_assignable"


def test_r13_removed_user_can_be_restored_within_30_days():
    removed_at = utc(2026, 11, 1, 12)
    assert can_restore(removed_at=removed_at, now=removed_at)
    assert can_restore(removed_at=removed_at, now=removed_at + timedelta(days=29, hours=23, minutes=59))
    assert not can_restore(removed_at=removed_at, now=removed_at + timedelta(days=30))
    assert not can_restore(removed_at=removed_at, now=removed_at + timedelta(days=400))


# --- R13: assigned never exceeds seats, whatever the sequence ---------------------------


class SeatsAndAssignments(RuleBasedStateMachine):
    """A subscription where admins buy, remove, assign and unassign in any order.

    Only what check_assign / check_seat_change accept is applied; the invariant is R13's
    "assignments never exceed the seat count".
    """

    @initialize(
        seats=st.integers(1, 40),
        profile=st.sampled_from(list(Profile)),
        max_seats=st.one_of(st.none(), st.integers(40, 60)),
    )
    def start(self, seats, profile, max_seats):
        self.state = active()
        self.policy = Policy(profile=profile)
        self.max_seats = max_seats
        self.seats = seats
        self.assigned = 0
        self.now = utc(2026, 11, 2)

    @rule(count=st.integers(1, 10))
    def assign(self, count):
        for _ in range(count):
            try:
                check_assign(status=self.state.status, seats=self.seats, assigned=self.assigned)
            except Refused as refused:
                assert refused.code in ("no_free_licenses", "not_assignable")
                assert self.assigned >= self.seats or self.state.status not in ASSIGNABLE
                return
            self.assigned += 1

    @precondition(lambda self: self.assigned > 0)
    @rule(count=st.integers(1, 10))
    def unassign(self, count):
        self.assigned -= min(count, self.assigned)

    @rule(
        relative=st.booleans(),  # often aim at the edge: just below, at or above the number assigned
        offset=st.integers(-3, 3),
        absolute=st.integers(-2, 70),
        is_operator=st.booleans(),
    )
    def set_total(self, relative, offset, absolute, is_operator):
        new_total = self.assigned + offset if relative else absolute
        try:
            result = check_seat_change(
                state=self.state,
                policy=self.policy,
                seats=self.seats,
                new_total=new_total,
                assigned=self.assigned,
                max_seats=self.max_seats,
                is_operator=is_operator,
                now=self.now,
            )
        except BadInput as bad:
            assert new_total < 1 and bad.code == "invalid_seats"
            return
        except Refused as refused:
            assert refused.code in (
                "below_assigned",
                "seat_cap_exceeded",
                "outside_cancellation_window",
                "not_active",
                "trial_seats_fixed",
            )
            return
        assert result.before == self.seats and result.after == new_total
        assert self.max_seats is None or new_total <= self.max_seats
        self.seats = result.after

    @rule(days=st.integers(1, 20))
    def time_passes(self, days):
        self.now += timedelta(days=days)  # takes a window-profile subscription out of its window

    @rule(status=st.sampled_from([Status.ACTIVE, Status.EXPIRED, Status.DISABLED]))
    def status_changes(self, status):
        self.state = replace(self.state, status=status)

    @invariant()
    def assigned_never_exceeds_seats(self):
        assert 0 <= self.assigned <= self.seats
        assert self.seats >= 1


SeatsAndAssignments.TestCase.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
test_r13_assigned_never_exceeds_seats = SeatsAndAssignments.TestCase
