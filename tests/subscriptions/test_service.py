"""Subscription services on a real database: trials, purchases, cancellation, reactivation (R1–R11)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from seatwise.core.errors import Forbidden, Refused
from seatwise.events import service as audit
from seatwise.licenses import service as licenses
from seatwise.subscriptions import service as subscriptions
from tests.conftest import T0
from tests.factories import add_method, run_billing, world


def _buy_and_assign(session, w, *, seats, assigned, now=T0):
    sub = subscriptions.buy(session, org_id=w.org_id, sku=w.sku, seats=seats, actor=w.billing_admin, now=now)
    for user_id in w.user_ids[:assigned]:
        licenses.assign(session, sub_id=sub.id, user_id=user_id, actor=w.user_admin, now=now)
    return sub


def test_r8_seed_cases_24_can_25_cannot_30_cannot(uow):
    with uow() as s:
        w = world(s, now=T0, users=30)
        results = {}
        for assigned in (24, 25, 30):
            sub = _buy_and_assign(s, w, seats=30, assigned=assigned)
            decision = subscriptions.cancellation_decision(s, sub=sub, actor=w.billing_admin, now=T0)
            results[assigned] = (decision.allowed, decision.code.value, decision.remedy.count)
            for user_id in w.user_ids[:assigned]:
                licenses.unassign(s, sub_id=sub.id, user_id=user_id, actor=w.user_admin, now=T0)
    assert results == {
        24: (True, "allowed", None),
        25: (False, "too_many_assigned_licenses", 1),
        30: (False, "too_many_assigned_licenses", 6),
    }


def _cancel_count(s, sub_id):
    return sum(
        1 for e in audit.entries(s, entity="subscriptions", entity_id=sub_id) if e.action == "subscription.canceled"
    )


def test_r8_cancel_refused_at_25_then_allowed_after_unassigning_one(uow):
    with uow() as s:
        w = world(s, now=T0)
        sub = _buy_and_assign(s, w, seats=30, assigned=25)
        with pytest.raises(Refused) as refused:
            subscriptions.cancel(s, sub_id=sub.id, actor=w.global_admin, now=T0)
    assert refused.value.code == "too_many_assigned_licenses"
    assert refused.value.detail.remedy.count == 1
    with uow() as s:
        assert subscriptions.get(s, sub_id=sub.id).status == "active"
        assert _cancel_count(s, sub.id) == 0
        licenses.unassign(s, sub_id=sub.id, user_id=w.user_ids[0], actor=w.user_admin, now=T0)
        sub, decision = subscriptions.cancel(s, sub_id=sub.id, actor=w.global_admin, now=T0, reason="other")
        assert (sub.status, sub.status_reason, sub.cancel_reason) == ("disabled", "canceled", "other")
        assert decision.allowed


def test_r8_operator_may_cancel_above_the_threshold_and_is_audited(uow):
    from seatwise.core.roles import OPERATOR

    with uow() as s:
        w = world(s, now=T0)
        sub = _buy_and_assign(s, w, seats=30, assigned=30)
        subscriptions.cancel(s, sub_id=sub.id, actor=OPERATOR, now=T0)
    with uow() as s:
        [entry] = [
            e for e in audit.entries(s, entity="subscriptions", entity_id=sub.id) if e.action == "subscription.canceled"
        ]
        assert entry.actor == "operator"
        assert (entry.before["status"], entry.after["status"]) == ("active", "disabled")


def test_r15_r10_cancel_on_day_3_credits_27_30_and_matches_the_preview(uow):
    day3 = T0 + timedelta(days=2)  # T0 is 1 November; 3 November is day 3 of 30
    with uow() as s:
        w = world(s, now=T0)
        sub = _buy_and_assign(s, w, seats=10, assigned=10)
        preview = subscriptions.cancellation_decision(s, sub=sub, actor=w.billing_admin, now=day3)
        _, done = subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=day3)
    assert preview == done
    assert (done.credit.amount, done.credit.currency) == (11250, "EUR")  # 10 × 12.50 × 27/30
    assert done.dates["credit_returned_by"] == sub.current_period_end


def test_r7_trial_has_nothing_to_cancel_and_turning_recurring_billing_off_lets_it_expire(uow):
    with uow() as s:
        w = world(s, now=T0)
        trial = subscriptions.start_trial(s, org_id=w.org_id, sku=w.sku, seats=25, actor=w.global_admin, now=T0)
        decision = subscriptions.cancellation_decision(s, sub=trial, actor=w.global_admin, now=T0)
        assert (decision.allowed, decision.code.value, decision.remedy.action.value) == (
            False,
            "trial_nothing_to_cancel",
            "turn_off_recurring_billing",
        )
        with pytest.raises(Refused):
            subscriptions.cancel(s, sub_id=trial.id, actor=w.global_admin, now=T0)
    with uow() as s:
        subscriptions.set_recurring_billing(s, sub_id=trial.id, enabled=False, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=T0 + timedelta(days=31))
    with uow() as s:
        sub = subscriptions.get(s, sub_id=trial.id)
        assert (sub.status, sub.status_reason) == ("expired", "trial_ended")


def test_r1_trial_licences_are_fixed_and_one_trial_per_product(uow):
    with uow() as s:
        w = world(s, now=T0)
        trial = subscriptions.start_trial(s, org_id=w.org_id, sku=w.sku, seats=25, actor=w.global_admin, now=T0)
        assert trial.trial_end - trial.current_period_start == timedelta(days=30)
    for attempt in (
        lambda s: licenses.set_total(s, sub_id=trial.id, total=30, actor=w.global_admin, now=T0),
        lambda s: subscriptions.start_trial(s, org_id=w.org_id, sku=w.sku, seats=5, actor=w.global_admin, now=T0),
    ):
        with uow() as s, pytest.raises(Refused) as refused:
            attempt(s)
        assert refused.value.code in {"trial_seats_fixed", "trial_already_used"}
    with uow() as s:
        assert subscriptions.get(s, sub_id=trial.id).seats == 25
        assert len(subscriptions.list_for_org(s, org_id=w.org_id)) == 1


def test_r9_roles_and_other_organisations(uow):
    from seatwise.core.errors import NotFound

    with uow() as s:
        w = world(s, now=T0)
        other = world(s, now=T0, name="Fabrikam", sku="OTHER")
        sub = _buy_and_assign(s, w, seats=5, assigned=2)
    checks = {
        "user admin cannot cancel": (
            lambda s: subscriptions.cancel(s, sub_id=sub.id, actor=w.user_admin, now=T0),
            Refused,
        ),
        "user admin cannot buy licences": (
            lambda s: licenses.set_total(s, sub_id=sub.id, total=6, actor=w.user_admin, now=T0),
            Forbidden,
        ),
        "billing admin cannot assign": (
            lambda s: licenses.assign(s, sub_id=sub.id, user_id=w.user_ids[3], actor=w.billing_admin, now=T0),
            Forbidden,
        ),
        "another org's admin sees nothing": (
            lambda s: subscriptions.cancel(s, sub_id=sub.id, actor=other.global_admin, now=T0),
            NotFound,
        ),
    }
    for _name, (attempt, error) in checks.items():
        with uow() as s, pytest.raises(error):
            attempt(s)
    with uow() as s:
        decision = subscriptions.cancellation_decision(
            s, sub=subscriptions.get(s, sub_id=sub.id), actor=w.user_admin, now=T0
        )
        assert decision.code.value == "not_authorized"
        after = subscriptions.get(s, sub_id=sub.id)
        assert (after.status, after.seats, subscriptions.assigned_count(s, sub_id=sub.id)) == ("active", 5, 2)


def test_r11_window_policy_refuses_cancel_after_7_days(uow):
    with uow() as s:
        w = world(s, now=T0, policy="window")
        sub = _buy_and_assign(s, w, seats=40, assigned=30)
        inside = subscriptions.cancellation_decision(s, sub=sub, actor=w.global_admin, now=T0 + timedelta(days=6))
        outside = subscriptions.cancellation_decision(s, sub=sub, actor=w.global_admin, now=T0 + timedelta(days=7))
    assert inside.allowed  # the window profile has no assigned-licence threshold
    assert (outside.code.value, outside.remedy.action.value) == (
        "outside_cancellation_window",
        "turn_off_recurring_billing",
    )


def test_r6_reactivate_from_expired_starts_a_new_period_now(uow):
    with uow() as s:
        w = world(s, now=T0)
        sub = _buy_and_assign(s, w, seats=3, assigned=1)
        subscriptions.set_recurring_billing(s, sub_id=sub.id, enabled=False, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=T0 + timedelta(days=35))
    with uow() as s:
        assert subscriptions.get(s, sub_id=sub.id).status == "expired"
    back = T0 + timedelta(days=40, hours=5)
    with uow() as s:
        sub, charge = subscriptions.reactivate(s, sub_id=sub.id, actor=w.billing_admin, now=back)
        assert (sub.status, sub.recurring_billing) == ("active", True)
        assert sub.current_period_start.date() == back.date()
        assert charge.days == charge.days_in_period and charge.amount.amount == 3 * 1250


def test_r6_reactivate_from_disabled_keeps_the_billing_date_and_charges_the_rest(uow):
    with uow() as s:
        w = world(s, now=T0)
        sub = _buy_and_assign(s, w, seats=2, assigned=0)
        subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=T0 + timedelta(days=1))
    back = T0 + timedelta(days=45)  # 16 December, day 16 of the period 1 Dec – 1 Jan (31 days)
    with uow() as s:
        sub, charge = subscriptions.reactivate(s, sub_id=sub.id, actor=w.global_admin, now=back)
        assert (sub.current_period_start.day, sub.current_period_start.month) == (1, 12)
        assert (charge.days, charge.days_in_period) == (16, 31)
        assert charge.amount.amount == 1290  # 2 × 12.50 × 16/31 = 12.903… → 12.90


def test_r6_deleted_cannot_be_reactivated(uow):
    with uow() as s:
        w = world(s, now=T0)
        sub = _buy_and_assign(s, w, seats=2, assigned=0)
        subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=T0 + timedelta(days=91))
    with uow() as s, pytest.raises(Refused) as refused:
        subscriptions.reactivate(s, sub_id=sub.id, actor=w.global_admin, now=T0 + timedelta(days=92))
    assert refused.value.code == "deleted"


def test_r6_reactivation_needs_a_payment_method(uow):
    with uow() as s:
        w = world(s, now=T0, card=False)
        trial = subscriptions.start_trial(s, org_id=w.org_id, sku=w.sku, seats=5, actor=w.global_admin, now=T0)
    run_billing(uow, as_of=T0 + timedelta(days=31))
    with uow() as s, pytest.raises(Refused) as refused:
        subscriptions.reactivate(s, sub_id=trial.id, actor=w.global_admin, now=T0 + timedelta(days=32))
    assert refused.value.code == "payment_method_required"
    with uow() as s:
        assert subscriptions.get(s, sub_id=trial.id).status == "expired"


def test_timestamps_come_back_utc_aware(uow):
    with uow() as s:
        w = world(s, now=T0)
        sub = _buy_and_assign(s, w, seats=1, assigned=0)
    with uow() as s:
        fresh = subscriptions.get(s, sub_id=sub.id)
        stamps = [fresh.created_at, fresh.anchor, fresh.current_period_start, fresh.current_period_end]
        assert all(t.utcoffset() == timedelta(0) for t in stamps)
        assert fresh.created_at == T0


def test_r19_an_action_first_catches_up_with_transitions_that_fell_due(uow):
    """Between two billing runs, a command acts on the present state, not on an ended period."""
    with uow() as s:
        w = world(s, now=T0)
        sub = _buy_and_assign(s, w, seats=5, assigned=0)
        subscriptions.set_recurring_billing(s, sub_id=sub.id, enabled=False, actor=w.billing_admin, now=T0)
    much_later = T0 + timedelta(days=45)  # expired on 1 December, no billing run since
    with uow() as s:
        preview = subscriptions.cancellation_decision(
            s, sub=subscriptions.get(s, sub_id=sub.id), actor=w.billing_admin, now=much_later
        )
        assert subscriptions.get(s, sub_id=sub.id).status == "active"  # a preview writes nothing
    with uow() as s, pytest.raises(Refused) as refused:
        subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=much_later)
    assert preview.code.value == refused.value.code == "not_active"


def test_r15_licences_bought_months_later_are_prorated_on_the_current_period(uow):
    with uow() as s:
        w = world(s, now=T0)
        sub = _buy_and_assign(s, w, seats=5, assigned=0)
    june_15 = T0.replace(month=6, year=2027, day=15)  # no billing run since November
    with uow() as s:
        change = licenses.set_total(s, sub_id=sub.id, total=6, actor=w.billing_admin, now=june_15)
    assert (change.proration.days, change.proration.days_in_period) == (16, 30)  # 15–30 June


def test_r19_an_action_cannot_go_back_before_the_last_change(uow):
    from seatwise.core.errors import BadInput

    with uow() as s:
        w = world(s, now=T0)
        sub = _buy_and_assign(s, w, seats=5, assigned=0)
    with uow() as s, pytest.raises(BadInput) as early:
        subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=T0 - timedelta(days=30))
    assert early.value.code == "clock_before_last_change"


def test_r2_a_card_that_expired_before_trial_end_does_not_convert_the_trial(uow):
    with uow() as s:
        w = world(s, now=T0, card=False)
        add_method(
            s,
            org_id=w.org_id,
            card_number="4242424242424242",
            expiry="11/26",
            invoice=False,
            actor=w.billing_admin,
            now=T0,
        )
        trial = subscriptions.start_trial(s, org_id=w.org_id, sku=w.sku, seats=5, actor=w.global_admin, now=T0)
    run_billing(uow, as_of=T0 + timedelta(days=31))
    with uow() as s:
        assert subscriptions.get(s, sub_id=trial.id).status_reason == "trial_ended"


def test_r2_a_card_added_after_the_trial_ended_does_not_convert_it(uow):
    with uow() as s:
        w = world(s, now=T0, card=False)
        trial = subscriptions.start_trial(s, org_id=w.org_id, sku=w.sku, seats=5, actor=w.global_admin, now=T0)
    with uow() as s:
        add_method(
            s,
            org_id=w.org_id,
            card_number="4242424242424242",
            expiry="12/30",
            invoice=False,
            actor=w.billing_admin,
            now=T0 + timedelta(days=35),
        )
    run_billing(uow, as_of=T0 + timedelta(days=36))
    with uow() as s:
        assert subscriptions.get(s, sub_id=trial.id).status == "expired"


def test_r9_authorisation_comes_before_another_organisations_details(uow):
    with uow() as s:
        w = world(s, now=T0)
        other = world(s, now=T0, name="Fabrikam", sku="OTHER", currency="USD")
    with uow() as s, pytest.raises(Forbidden):  # not "currency_mismatch", which would leak Fabrikam's currency
        subscriptions.start_trial(s, org_id=other.org_id, sku=w.sku, seats=5, actor=w.user_admin, now=T0)


def test_r6_reactivation_clears_the_cancellation_and_charges_no_day_twice(uow):
    day3 = T0 + timedelta(days=2)
    with uow() as s:
        w = world(s, now=T0)
        sub = _buy_and_assign(s, w, seats=10, assigned=0)
        _, decision = subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=day3, reason="other")
    with uow() as s:
        sub, charge = subscriptions.reactivate(s, sub_id=sub.id, actor=w.billing_admin, now=day3)
    assert charge.amount == decision.credit  # day 3 was paid and never credited: 27 days come back as charged
    assert (sub.canceled_at, sub.cancel_reason, sub.status) == (None, None, "active")
