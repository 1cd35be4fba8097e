"""The billing run performs every lifecycle transition due up to `as_of` (R2–R5, R19)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from seatwise.core.roles import OPERATOR
from seatwise.events import service as audit
from seatwise.licenses import service as licenses
from seatwise.subscriptions import service as subscriptions
from tests.conftest import T0
from tests.factories import run_billing, world

DEC_1 = datetime(2026, 12, 1, tzinfo=UTC)


def _state(sub):
    return (sub.status, sub.status_reason, sub.current_period_start, sub.current_period_end, sub.state_until)


def test_r2_trial_with_a_card_converts_and_its_first_period_starts_at_trial_end(uow):
    with uow() as s:
        w = world(s, now=T0)
        trial = subscriptions.start_trial(s, org_id=w.org_id, sku=w.sku, seats=25, actor=w.global_admin, now=T0)
    assert run_billing(uow, as_of=DEC_1 - timedelta(seconds=1)).subscriptions == 0
    summary = run_billing(uow, as_of=DEC_1)
    with uow() as s:
        sub = subscriptions.get(s, sub_id=trial.id)
    assert summary.transitions["converted"] == 1
    assert _state(sub) == ("active", None, DEC_1, datetime(2027, 1, 1, tzinfo=UTC), None)
    assert sub.seats == 25


def test_r2_trial_without_a_card_expires_then_is_deleted_30_days_later(uow):
    with uow() as s:
        w = world(s, now=T0, card=False)
        trial = subscriptions.start_trial(s, org_id=w.org_id, sku=w.sku, seats=5, actor=w.global_admin, now=T0)
        licenses.assign(s, sub_id=trial.id, user_id=w.user_ids[0], actor=w.user_admin, now=T0)
    run_billing(uow, as_of=DEC_1 + timedelta(days=29))
    with uow() as s:
        sub = subscriptions.get(s, sub_id=trial.id)
        assert (sub.status, sub.status_reason, sub.state_until) == (
            "expired",
            "trial_ended",
            DEC_1 + timedelta(days=30),
        )
        assert subscriptions.assigned_count(s, sub_id=trial.id) == 1  # users keep access while expired
    run_billing(uow, as_of=DEC_1 + timedelta(days=30))
    with uow() as s:
        sub = subscriptions.get(s, sub_id=trial.id)
        assert (sub.status, sub.next_event_at) == ("deleted", None)
        assert subscriptions.assigned_count(s, sub_id=trial.id) == 0


def test_r3_a_subscription_started_on_31_january_renews_28_february_then_31_march(uow):
    jan_31 = datetime(2027, 1, 31, 15, tzinfo=UTC)
    with uow() as s:
        w = world(s, now=jan_31)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=1, actor=w.billing_admin, now=jan_31)
    starts = []
    for as_of in ("2027-02-28", "2027-03-31", "2027-04-30"):
        run_billing(uow, as_of=datetime.fromisoformat(as_of).replace(tzinfo=UTC))
        with uow() as s:
            starts.append(subscriptions.get(s, sub_id=sub.id).current_period_start.date().isoformat())
    assert starts == ["2027-02-28", "2027-03-31", "2027-04-30"]


def test_r4_recurring_billing_off_expires_then_disables_then_deletes_in_one_run(uow):
    with uow() as s:
        w = world(s, now=T0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=2, actor=w.billing_admin, now=T0)
        subscriptions.set_recurring_billing(s, sub_id=sub.id, enabled=False, actor=w.billing_admin, now=T0)
        assert subscriptions.get(s, sub_id=sub.id).status == "active"  # turning it off cancels nothing
    summary = run_billing(uow, as_of=datetime(2027, 6, 1, tzinfo=UTC))
    with uow() as s:
        steps = [
            (e.action, e.at.date().isoformat(), e.after["status_reason"])
            for e in audit.entries(s, entity="subscriptions", entity_id=sub.id)
            if e.actor.startswith("system")
        ]
    assert steps == [
        ("subscription.expired", "2026-12-01", "recurring_billing_off"),
        ("subscription.disabled", "2026-12-31", "recurring_billing_off"),
        ("subscription.deleted", "2027-03-31", "recurring_billing_off"),
    ]
    assert dict(summary.transitions) == {"expired": 1, "disabled": 1, "deleted": 1}


def test_r5_a_cancelled_subscription_is_deleted_90_days_after_cancellation(uow):
    cancel_at = T0 + timedelta(days=3)
    with uow() as s:
        w = world(s, now=T0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=2, actor=w.billing_admin, now=T0)
        subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=cancel_at)
    run_billing(uow, as_of=cancel_at + timedelta(days=90) - timedelta(seconds=1))
    with uow() as s:
        assert subscriptions.get(s, sub_id=sub.id).status == "disabled"
    run_billing(uow, as_of=cancel_at + timedelta(days=90))
    with uow() as s:
        assert subscriptions.get(s, sub_id=sub.id).status == "deleted"


def test_r19_many_elapsed_periods_in_one_run_equal_a_run_per_month(uow):
    end = datetime(2027, 2, 15, tzinfo=UTC)
    with uow() as s:
        w = world(s, now=T0)
        stepped = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=1, actor=OPERATOR, now=T0)
        subscriptions.set_recurring_billing(s, sub_id=stepped.id, enabled=False, actor=OPERATOR, now=T0)
    for as_of in ("2026-12-20", "2027-01-20", "2027-02-15"):
        run_billing(uow, as_of=datetime.fromisoformat(as_of).replace(tzinfo=UTC))
    with uow() as s:  # the same subscription, written only now, caught up by a single run
        at_once = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=1, actor=OPERATOR, now=T0)
        subscriptions.set_recurring_billing(s, sub_id=at_once.id, enabled=False, actor=OPERATOR, now=T0)
    assert run_billing(uow, as_of=end).subscriptions == 1
    with uow() as s:
        assert _state(subscriptions.get(s, sub_id=at_once.id)) == _state(subscriptions.get(s, sub_id=stepped.id))
        assert subscriptions.get(s, sub_id=at_once.id).status == "disabled"


def test_r19_renewals_over_a_year_and_a_second_run_does_nothing(uow):
    with uow() as s:
        w = world(s, now=T0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=1, actor=OPERATOR, now=T0)
    as_of = datetime(2027, 11, 1, tzinfo=UTC)
    first = run_billing(uow, as_of=as_of)
    with uow() as s:
        entries_after_first = len(audit.entries(s))
    second = run_billing(uow, as_of=as_of)
    with uow() as s:
        assert len(audit.entries(s)) == entries_after_first
        sub = subscriptions.get(s, sub_id=sub.id)
    assert first.transitions["renewed"] == 12
    assert (second.subscriptions, sum(second.transitions.values())) == (0, 0)
    assert (sub.period_index, sub.current_period_start) == (12, as_of)
