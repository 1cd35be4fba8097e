"""Licence services on a real database (R12, R13)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from seatwise.core.errors import BadInput, Refused
from seatwise.licenses import service as licenses
from seatwise.organizations import service as organizations
from seatwise.subscriptions import service as subscriptions
from tests.conftest import T0
from tests.factories import world


def _setup(uow, **kw):
    with uow() as s:
        w = world(s, now=T0, **kw)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=5, actor=w.billing_admin, now=T0)
    return w, sub.id


def test_r12_buying_licences_charges_the_remaining_days(uow):
    w, sub_id = _setup(uow)
    with uow() as s:  # 11 November is day 11 of 30: 20 days remain
        change = licenses.set_total(s, sub_id=sub_id, total=8, actor=w.billing_admin, now=T0 + timedelta(days=10))
    assert (change.subscription.seats, change.change.delta) == (8, 3)
    assert (change.proration.days, change.proration.amount.amount) == (20, 2500)  # 3 × 12.50 × 20/30


def test_r12_removing_licences_stops_at_the_number_assigned_and_credits_the_rest(uow):
    w, sub_id = _setup(uow)
    with uow() as s:
        for user_id in w.user_ids[:3]:
            licenses.assign(s, sub_id=sub_id, user_id=user_id, actor=w.user_admin, now=T0)
    with uow() as s, pytest.raises(Refused) as refused:
        licenses.set_total(s, sub_id=sub_id, total=2, actor=w.billing_admin, now=T0)
    assert refused.value.code == "below_assigned"
    assert refused.value.detail["remedy"] == {"action": "unassign_licenses", "count": 1}
    with uow() as s:
        change = licenses.set_total(s, sub_id=sub_id, total=3, actor=w.billing_admin, now=T0 + timedelta(days=2))
    assert (change.proration.days, change.proration.amount.amount) == (27, 2250)  # 2 × 12.50 × 27/30


def test_r12_seat_cap_and_window_policy(uow):
    w, sub_id = _setup(uow, max_seats=6, policy="window")
    with uow() as s, pytest.raises(Refused) as capped:
        licenses.set_total(s, sub_id=sub_id, total=7, actor=w.billing_admin, now=T0)
    with uow() as s, pytest.raises(Refused) as late:
        licenses.set_total(s, sub_id=sub_id, total=4, actor=w.billing_admin, now=T0 + timedelta(days=8))
    assert (capped.value.code, late.value.code) == ("seat_cap_exceeded", "outside_cancellation_window")
    with uow() as s:  # buying more is fine outside the window
        assert (
            licenses.set_total(
                s, sub_id=sub_id, total=6, actor=w.billing_admin, now=T0 + timedelta(days=8)
            ).subscription.seats
            == 6
        )


def test_r12_invalid_total_is_bad_input(uow):
    w, sub_id = _setup(uow)
    for total in (0, -3):
        with uow() as s, pytest.raises(BadInput):
            licenses.set_total(s, sub_id=sub_id, total=total, actor=w.billing_admin, now=T0)


def test_r13_never_more_assignments_than_seats(uow):
    w, sub_id = _setup(uow)
    with uow() as s:
        for user_id in w.user_ids[:5]:
            licenses.assign(s, sub_id=sub_id, user_id=user_id, actor=w.user_admin, now=T0)
    with uow() as s, pytest.raises(Refused) as full:
        licenses.assign(s, sub_id=sub_id, user_id=w.user_ids[5], actor=w.user_admin, now=T0)
    assert full.value.code == "no_free_licenses"
    with uow() as s:
        assert subscriptions.assigned_count(s, sub_id=sub_id) == 5


def test_r13_a_licence_goes_only_to_a_user_of_the_same_organisation(uow):
    w, sub_id = _setup(uow)
    with uow() as s:
        stranger = world(s, now=T0, name="Fabrikam", sku="OTHER", users=1).user_ids[0]
    with uow() as s, pytest.raises(BadInput) as wrong_org:
        licenses.assign(s, sub_id=sub_id, user_id=stranger, actor=w.user_admin, now=T0)
    assert wrong_org.value.code == "user_of_another_org"


def test_r13_removing_a_user_frees_the_licence_and_restoring_gives_it_back(uow):
    w, sub_id = _setup(uow)
    leaver = w.user_ids[0]
    with uow() as s:
        licenses.assign(s, sub_id=sub_id, user_id=leaver, actor=w.user_admin, now=T0)
        organizations.remove_user(s, user_id=leaver, actor=w.user_admin, now=T0 + timedelta(days=1))
    with uow() as s:
        sub = subscriptions.get(s, sub_id=sub_id)
        assert (sub.seats, subscriptions.assigned_count(s, sub_id=sub_id)) == (5, 0)  # the seat stays paid for
        organizations.restore_user(s, user_id=leaver, actor=w.global_admin, now=T0 + timedelta(days=30))
    with uow() as s:
        assert [a.user_id for a in licenses.assignments_of(s, sub_id=sub_id)] == [leaver]


def test_r13_restore_gives_back_only_licences_that_still_have_a_free_seat(uow):
    w, sub_id = _setup(uow)
    leaver = w.user_ids[0]
    with uow() as s:
        licenses.assign(s, sub_id=sub_id, user_id=leaver, actor=w.user_admin, now=T0)
        organizations.remove_user(s, user_id=leaver, actor=w.user_admin, now=T0)
        for user_id in w.user_ids[1:6]:
            licenses.assign(s, sub_id=sub_id, user_id=user_id, actor=w.user_admin, now=T0)
        organizations.restore_user(s, user_id=leaver, actor=w.user_admin, now=T0 + timedelta(days=2))
    with uow() as s:
        assert subscriptions.assigned_count(s, sub_id=sub_id) == 5
        assert leaver not in [a.user_id for a in licenses.assignments_of(s, sub_id=sub_id)]


def test_r13_a_user_removed_30_days_ago_cannot_be_restored(uow):
    w, _ = _setup(uow)
    with uow() as s:
        organizations.remove_user(s, user_id=w.user_ids[0], actor=w.user_admin, now=T0)
    with uow() as s, pytest.raises(Refused) as late:
        organizations.restore_user(s, user_id=w.user_ids[0], actor=w.user_admin, now=T0 + timedelta(days=30))
    assert late.value.code == "restore_window_passed"
    with uow() as s:
        assert organizations.get_user(s, user_id=w.user_ids[0]).removed_at == T0


def test_r4_no_licence_assignment_on_a_disabled_subscription(uow):
    w, sub_id = _setup(uow)
    with uow() as s:
        subscriptions.cancel(s, sub_id=sub_id, actor=w.billing_admin, now=T0)
    with uow() as s, pytest.raises(Refused) as refused:
        licenses.assign(s, sub_id=sub_id, user_id=w.user_ids[0], actor=w.user_admin, now=T0)
    assert refused.value.code == "not_assignable"
