"""Every state change is in the audit log: who, what, when, before and after."""

from __future__ import annotations

from datetime import timedelta

import pytest

from seatwise.core.errors import Refused
from seatwise.events import service as audit
from seatwise.licenses import service as licenses
from seatwise.organizations import service as organizations
from seatwise.subscriptions import service as subscriptions
from tests.conftest import T0
from tests.factories import world


def test_each_state_change_is_audited_with_actor_time_and_before_after(uow):
    later = T0 + timedelta(days=2)
    with uow() as s:
        w = world(s, now=T0, users=2)
        start = len(audit.entries(s))
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=2, actor=w.billing_admin, now=later)
        licenses.set_total(s, sub_id=sub.id, total=3, actor=w.billing_admin, now=later)
        licenses.assign(s, sub_id=sub.id, user_id=w.user_ids[0], actor=w.user_admin, now=later)
        licenses.unassign(s, sub_id=sub.id, user_id=w.user_ids[0], actor=w.user_admin, now=later)
        organizations.remove_user(s, user_id=w.user_ids[1], actor=w.global_admin, now=later)
        subscriptions.cancel(s, sub_id=sub.id, actor=w.global_admin, now=later)
    with uow() as s:
        new = audit.entries(s)[start:]
    assert [(e.action, e.actor) for e in new] == [
        ("subscription.started", f"user:{w.billing_admin.user_id}"),
        ("licenses.changed", f"user:{w.billing_admin.user_id}"),
        ("license.assigned", f"user:{w.user_admin.user_id}"),
        ("license.unassigned", f"user:{w.user_admin.user_id}"),
        ("user.removed", f"user:{w.global_admin.user_id}"),
        ("subscription.canceled", f"user:{w.global_admin.user_id}"),
    ]
    assert all(e.at == later and e.org_id == w.org_id for e in new)
    changed = new[1]
    # bought on the first day of the period: the new seat costs the whole period
    assert (changed.before["seats"], changed.after["seats"], changed.after["prorated"]) == (2, 3, 1250)
    assert new[3].before["user_id"] == w.user_ids[0] and new[3].after is None


def test_a_refused_action_writes_nothing(uow):
    with uow() as s:
        w = world(s, now=T0, users=1)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=1, actor=w.billing_admin, now=T0)
        licenses.assign(s, sub_id=sub.id, user_id=w.user_ids[0], actor=w.user_admin, now=T0)
        before = len(audit.entries(s))
    with pytest.raises(Refused), uow() as s:
        licenses.set_total(s, sub_id=sub.id, total=1, actor=w.billing_admin, now=T0)  # no change: fine
        licenses.unassign(s, sub_id=sub.id, user_id=w.user_ids[0], actor=w.user_admin, now=T0)
        licenses.set_total(s, sub_id=sub.id, total=5, actor=w.user_admin, now=T0)  # refused: wrong role
    with uow() as s:
        assert len(audit.entries(s)) == before
        assert subscriptions.assigned_count(s, sub_id=sub.id) == 1
