"""Subscription services on a real database: trials, purchases, cancellation, reactivation (R1–R11)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from seatwise.core.errors import Forbidden, Refused
from seatwise.events import service as audit
from seatwise.licenses import service as licenses
from seatwise.subscriptions import service as subscriptions
from tests.conftest import T0
from tests.factories import world


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
