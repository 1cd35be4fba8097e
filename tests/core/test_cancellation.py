"""R7–R11 (and R5, R15, R16 as the decision shows them): the one cancellation answer."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatwise.core.cancellation import Code, Remedy, RemedyAction, decide_cancellation
from seatwise.core.lifecycle import Lifecycle, Status, cancel, next_transition, start_paid, start_trial
from seatwise.core.money import Money
from seatwise.core.periods import Interval, Period
from seatwise.core.policy import Policy, Profile
from seatwise.core.roles import OPERATOR, Actor, Permission, Role, may


def utc(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


T0 = utc(2026, 11, 1, 9, 30)  # a 30-day November period starts here
EUR_12_50 = Money(1250, "EUR")
WINDOW = Policy(profile=Profile.WINDOW)


def active() -> Lifecycle:
    return start_paid(now=T0, interval=Interval.MONTHLY)


def decide(
    state: Lifecycle | None = None,
    *,
    policy: Policy = Policy(),
    seats: int = 10,
    assigned: int = 10,
    unit_price: Money = EUR_12_50,
    has_payment_method: bool = True,
    may_cancel: bool = True,
    is_operator: bool = False,
    now: datetime = utc(2026, 11, 3, 10),
):
    return decide_cancellation(
        state=state or active(),
        policy=policy,
        seats=seats,
        assigned=assigned,
        unit_price=unit_price,
        has_payment_method=has_payment_method,
        may_cancel=may_cancel,
        is_operator=is_operator,
        now=now,
    )


# --- R7: trials -------------------------------------------------------------------------


def test_r7_trial_with_payment_method_and_recurring_on_cannot_be_cancelled_offers_recurring_off():
    trial = start_trial(now=T0, interval=Interval.MONTHLY, trial_days=30)
    decision = decide(trial, has_payment_method=True)
    assert decision.allowed is False
    assert decision.code is Code.TRIAL_NOTHING_TO_CANCEL
    assert decision.code == "trial_nothing_to_cancel"
    assert decision.remedy == Remedy(RemedyAction.TURN_OFF_RECURRING_BILLING)
    assert decision.remedy.action == "turn_off_recurring_billing"
    assert decision.dates == {"converts_on": utc(2026, 12, 1)}
    assert decision.credit == Money(0, "EUR")


@pytest.mark.parametrize(("has_payment_method", "recurring"), [(False, True), (False, False), (True, False)])
def test_r7_trial_that_will_expire_anyway_has_nothing_to_cancel_and_no_remedy(has_payment_method, recurring):
    trial = replace(start_trial(now=T0, interval=Interval.MONTHLY, trial_days=30), recurring_billing=recurring)
    decision = decide(trial, has_payment_method=has_payment_method)
    assert decision.allowed is False
    assert decision.code is Code.TRIAL_NOTHING_TO_CANCEL
    assert decision.remedy == Remedy(RemedyAction.NONE)
    assert decision.remedy.count is None
    assert decision.dates == {"expires_on": utc(2026, 12, 1)}


def test_r7_operator_cannot_cancel_a_trial_either():
    trial = start_trial(now=T0, interval=Interval.MONTHLY, trial_days=30)
    decision = decide(trial, is_operator=True, assigned=40)
    assert decision.code is Code.TRIAL_NOTHING_TO_CANCEL and not decision.allowed


# --- R8: the 25-licence threshold -------------------------------------------------------


@pytest.mark.parametrize("assigned", [0, 1, 24])
def test_r8_cancel_allowed_below_25_assigned(assigned):
    decision = decide(seats=30, assigned=assigned)
    assert decision.allowed is True
    assert decision.code is Code.ALLOWED
    assert decision.remedy == Remedy(RemedyAction.CONFIRM)
    assert decision.assigned == assigned


def test_r8_cancel_allowed_at_24_assigned():
    decision = decide(seats=24, assigned=24)
    assert decision.allowed is True and decision.code == "allowed"


def test_r8_cancel_blocked_at_25_assigned():
    decision = decide(seats=25, assigned=25)
    assert decision.allowed is False
    assert decision.code is Code.TOO_MANY_ASSIGNED_LICENSES
    assert decision.remedy == Remedy(RemedyAction.UNASSIGN_LICENSES, 1)
    assert decision.remedy.action == "unassign_licenses"
    assert decision.credit == Money(0, "EUR")
    assert decision.dates == {"current_period_end": utc(2026, 12, 1)}


def test_r8_cancel_blocked_at_30_assigned_unassign_6():
    decision = decide(seats=40, assigned=30)
    assert decision.allowed is False
    assert decision.code is Code.TOO_MANY_ASSIGNED_LICENSES
    assert decision.remedy == Remedy(RemedyAction.UNASSIGN_LICENSES, 6)


def test_r8_threshold_counts_assigned_not_seats():
    # 300 seats bought but only 3 assigned: self-service cancellation is allowed.
    decision = decide(seats=300, assigned=3)
    assert decision.allowed is True
    assert decision.credit == Money(337500, "EUR")  # 300 × €12.50 × 27/30 = €3,375.00


def test_r8_threshold_is_policy():
    policy = Policy(assigned_threshold=10)
    assert decide(policy=policy, seats=20, assigned=9).allowed is True
    blocked = decide(policy=policy, seats=20, assigned=12)
    assert blocked.allowed is False
    assert blocked.remedy == Remedy(RemedyAction.UNASSIGN_LICENSES, 3)
    assert blocked.policy == policy


def test_r8_operator_bypasses_the_threshold():
    decision = decide(seats=40, assigned=30, is_operator=True)
    assert decision.allowed is True
    assert decision.credit == Money(45000, "EUR")  # 40 × €12.50 × 27/30 = €450.00


@settings(max_examples=200, deadline=None)
@given(threshold=st.integers(1, 500), assigned=st.integers(0, 1000))
def test_r8_unassigning_the_remedy_count_gets_just_below_the_threshold(threshold, assigned):
    decision = decide(policy=Policy(assigned_threshold=threshold), seats=max(assigned, 1), assigned=assigned)
    assert decision.allowed == (assigned < threshold)
    if not decision.allowed:
        count = decision.remedy.count
        assert count > 0
        assert assigned - count == threshold - 1  # the exact number: one fewer would not do
        again = decide(policy=Policy(assigned_threshold=threshold), seats=max(assigned, 1), assigned=assigned - count)
        assert again.allowed is True


# --- R15, R16, R10, R5: what an allowed cancellation says ------------------------------


def test_r15_cancel_on_day_3_of_30_credits_27_30():
    decision = decide(seats=10, assigned=5, now=utc(2026, 11, 3, 16, 45))
    assert decision.allowed is True
    assert decision.credit == Money(11250, "EUR")  # 10 × €12.50 × 27/30 = €112.50
    assert decision.credit.decimal_string() == "112.50"


def test_r15_r14_cancel_jpy_day_10_of_31_credits_2032_yen():
    state = start_paid(now=utc(2027, 1, 1, 12), interval=Interval.MONTHLY)
    assert state.current_period.days == 31
    decision = decide(state, unit_price=Money(1000, "JPY"), seats=3, assigned=3, now=utc(2027, 1, 10, 9))
    assert decision.credit == Money(2032, "JPY")


def test_r16_r10_allowed_decision_carries_the_important_dates():
    now = utc(2026, 11, 3, 16, 45)
    decision = decide(now=now)
    assert decision.dates == {
        "canceled_on": now,
        "current_period_end": utc(2026, 12, 1),
        "credit_returned_by": utc(2026, 12, 1),  # R16: settled in the run at the period's end
        "deleted_on": utc(2027, 2, 1, 16, 45),  # R5: 90 days after cancellation
    }


def test_r10_r5_preview_and_real_cancellation_agree():
    state = active()
    now = utc(2026, 11, 3, 16, 45)
    preview = decide(state, now=now)
    canceled = cancel(state, now=now)
    assert canceled.status is Status.DISABLED
    assert canceled.state_until == preview.dates["deleted_on"]
    deleted = next_transition(canceled, as_of=utc(2030, 1, 1), payment_method_at=lambda _at: True)
    assert deleted.at == preview.dates["deleted_on"]
    # Asking twice gives the same answer: the decision is a pure function.
    assert decide(state, now=now) == preview


def test_r10_credit_is_in_the_price_currency():
    decision = decide(unit_price=Money(12345, "KWD"), seats=1, assigned=1)
    assert decision.credit == Money(11111, "KWD")  # 12.345 × 27/30 = 11.1105 → 11.111


# --- R11: the window profile ------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "credit"),
    [(1, 12083), (2, 11667), (7, 9583)],  # €125.00 × 29/30, 28/30, 23/30, half up
)
def test_r11_window_allows_cancellation_within_7_days_of_start(day, credit):
    decision = decide(policy=WINDOW, now=utc(2026, 11, day, 23, 59))
    assert decision.allowed is True
    assert decision.credit == Money(credit, "EUR")


@pytest.mark.parametrize("day", [8, 15, 30])
def test_r11_window_refuses_after_7_days_with_recurring_off_remedy(day):
    decision = decide(policy=WINDOW, assigned=1, now=utc(2026, 11, day))
    assert decision.allowed is False
    assert decision.code is Code.OUTSIDE_CANCELLATION_WINDOW
    assert decision.code == "outside_cancellation_window"
    assert decision.remedy == Remedy(RemedyAction.TURN_OFF_RECURRING_BILLING)
    assert decision.dates == {"window_closed_on": utc(2026, 11, 8), "current_period_end": utc(2026, 12, 1)}
    assert decision.credit == Money(0, "EUR")


def test_r11_window_reopens_for_7_days_after_each_renewal():
    state = active()
    renewed = next_transition(state, as_of=utc(2026, 12, 1), payment_method_at=lambda _at: True).after
    assert decide(renewed, policy=WINDOW, now=utc(2026, 12, 7, 12)).allowed is True
    late = decide(renewed, policy=WINDOW, now=utc(2026, 12, 8))
    assert late.code is Code.OUTSIDE_CANCELLATION_WINDOW
    assert late.dates["window_closed_on"] == utc(2026, 12, 8)


def test_r11_operator_bypasses_the_window():
    decision = decide(policy=WINDOW, is_operator=True, now=utc(2026, 11, 20))
    assert decision.allowed is True
    assert decision.credit == Money(4167, "EUR")  # 12500 × 10/30 = 4166.67 → 4167


def test_r11_window_profile_has_no_assigned_threshold():
    # The window profile replaces the seed's rule: inside the window even 30 assigned may cancel.
    decision = decide(policy=WINDOW, seats=40, assigned=30, now=utc(2026, 11, 2))
    assert decision.allowed is True


def test_r11_standard_profile_has_no_window():
    decision = decide(policy=Policy(), assigned=1, now=utc(2026, 11, 28))
    assert decision.allowed is True
    assert decision.credit == Money(833, "EUR")  # 12500 × 2/30 = 833.33 → 833


# --- R9 and inactive subscriptions ------------------------------------------------------


def test_r9_user_admin_is_not_authorized_to_cancel():
    user_admin = Actor(role=Role.USER_ADMIN, org_id=1, user_id=7)
    may_cancel = may(user_admin, Permission.MANAGE_BILLING, 1)
    assert may_cancel is False
    decision = decide(may_cancel=may_cancel, assigned=1)
    assert decision.allowed is False
    assert decision.code is Code.NOT_AUTHORIZED
    assert decision.code == "not_authorized"
    assert decision.remedy == Remedy(RemedyAction.ASK_AN_ADMIN)
    assert decision.credit == Money(0, "EUR")


def test_r9_not_authorized_comes_before_the_trial_answer():
    trial = start_trial(now=T0, interval=Interval.MONTHLY, trial_days=30)
    assert decide(trial, may_cancel=False).code is Code.NOT_AUTHORIZED


@pytest.mark.parametrize("role", [Role.GLOBAL_ADMIN, Role.BILLING_ADMIN])
def test_r9_global_and_billing_admins_may_cancel(role):
    actor = Actor(role=role, org_id=1, user_id=3)
    decision = decide(may_cancel=may(actor, Permission.MANAGE_BILLING, 1), is_operator=actor.is_operator)
    assert decision.allowed is True


def test_r9_admin_of_another_organisation_is_not_authorized():
    other = Actor(role=Role.GLOBAL_ADMIN, org_id=2, user_id=3)
    decision = decide(may_cancel=may(other, Permission.MANAGE_BILLING, 1))
    assert decision.code is Code.NOT_AUTHORIZED


def test_r9_operator_may_cancel_past_threshold_and_window():
    decision = decide(
        policy=WINDOW,
        seats=40,
        assigned=30,
        now=utc(2026, 11, 25),
        may_cancel=may(OPERATOR, Permission.MANAGE_BILLING, 1),
        is_operator=OPERATOR.is_operator,
    )
    assert decision.allowed is True


@pytest.mark.parametrize("status", [Status.EXPIRED, Status.DISABLED, Status.DELETED])
def test_r5_r10_expired_disabled_or_deleted_is_not_active(status):
    until = utc(2027, 1, 1)
    state = replace(active(), status=status, state_until=until)
    for is_operator in (False, True):
        decision = decide(state, is_operator=is_operator, assigned=1)
        assert decision.allowed is False
        assert decision.code is Code.NOT_ACTIVE
        assert decision.code == "not_active"
        assert decision.remedy == Remedy(RemedyAction.NONE)
        assert decision.dates == {"state_until": until}
        assert decision.credit == Money(0, "EUR")


def test_r5_r10_an_already_cancelled_subscription_is_not_active():
    canceled = cancel(active(), now=utc(2026, 11, 3))
    decision = decide(canceled, now=utc(2026, 11, 4))
    assert decision.code is Code.NOT_ACTIVE
    assert decision.dates == {"state_until": utc(2027, 2, 1)}


# --- properties -------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    price=st.integers(0, 10**6),
    seats=st.integers(1, 400),
    day=st.integers(1, 30),
    profile=st.sampled_from(list(Profile)),
    is_operator=st.booleans(),
    assigned=st.integers(0, 400),
)
def test_r15_r10_credit_never_exceeds_the_period_price_and_appears_only_when_allowed(
    price, seats, day, profile, is_operator, assigned
):
    assigned = min(assigned, seats)
    decision = decide(
        policy=Policy(profile=profile),
        unit_price=Money(price, "EUR"),
        seats=seats,
        assigned=assigned,
        is_operator=is_operator,
        now=utc(2026, 11, day, 12),
    )
    assert 0 <= decision.credit.amount <= price * seats
    if decision.allowed:
        # 30-day period: the credit is price × seats × (30 − d) / 30, half up.
        numerator = price * seats * (30 - day)
        assert decision.credit.amount == (2 * numerator + 30) // 60
    else:
        assert decision.credit.amount == 0
    expected_allowed = is_operator or ((assigned < 25) if profile is Profile.STANDARD else day <= 7)
    assert decision.allowed == expected_allowed


def test_r3_the_period_these_hand_computations_use_is_1_nov_to_1_dec_30_days():
    assert active().current_period == Period(utc(2026, 11, 1), utc(2026, 12, 1))
    assert active().current_period.days == 30
    assert utc(2026, 11, 1) + timedelta(days=7) == utc(2026, 11, 8)
