"""The event outbox: every state change customers may hear of writes its event in the same transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest

from seatwise.core.errors import Refused
from seatwise.core.roles import OPERATOR
from seatwise.events import service as events
from seatwise.licenses import service as licenses
from seatwise.subscriptions import service as subscriptions
from tests.conftest import T0
from tests.factories import add_method, run_billing, world


def _types(uow, org_id: int, after: int | None = None) -> list[str]:
    with uow() as s:
        return [e.type for e in events.list_events(s, org_id=org_id, after=after, limit=1000)]


def test_r2_r4_r5_r6_every_event_type_is_written_by_the_change_that_causes_it(uow):
    with uow() as s:
        w = world(s, now=T0)
        declined = world(s, now=T0, name="Fabrikam", sku="FAB", card=False)
        add_method(
            s,
            org_id=declined.org_id,
            card_number="4000000000000002",
            expiry="12/30",
            invoice=False,
            actor=OPERATOR,
            now=T0,
        )
        trial = subscriptions.start_trial(s, org_id=w.org_id, sku="BIZ", seats=5, actor=OPERATOR, now=T0)
        lapsing = subscriptions.buy(s, org_id=w.org_id, sku="BIZ", seats=3, actor=OPERATOR, now=T0)
        canceled = subscriptions.buy(s, org_id=w.org_id, sku="BIZ", seats=4, actor=OPERATOR, now=T0)
        subscriptions.buy(s, org_id=declined.org_id, sku="FAB", seats=2, actor=OPERATOR, now=T0)
        s.flush()
        licenses.assign(s, sub_id=canceled.id, user_id=w.user_ids[0], actor=OPERATOR, now=T0)
        licenses.unassign(s, sub_id=canceled.id, user_id=w.user_ids[0], actor=OPERATOR, now=T0)
        subscriptions.set_recurring_billing(s, sub_id=lapsing.id, enabled=False, actor=OPERATOR, now=T0)
    assert _types(uow, w.org_id) == [
        "subscription.trial_started",
        "subscription.started",
        "subscription.started",
        "license.assigned",
        "license.unassigned",
    ]
    with uow() as s:
        day = T0 + timedelta(days=2)
        licenses.set_total(s, sub_id=canceled.id, total=6, actor=OPERATOR, now=day)
        subscriptions.cancel(s, sub_id=canceled.id, actor=OPERATOR, now=day, reason="other", comment=None)
    run_billing(uow, as_of=T0 + timedelta(days=70))  # trial converts; the lapsing one expires, then disables
    with uow() as s:
        subscriptions.reactivate(s, sub_id=lapsing.id, actor=OPERATOR, now=T0 + timedelta(days=70))
        # fewer licences on the converted trial, whose period is invoiced: a credit note (R25)
        licenses.set_total(s, sub_id=trial.id, total=4, actor=OPERATOR, now=T0 + timedelta(days=70))
    run_billing(uow, as_of=T0 + timedelta(days=400))  # the cancelled one is deleted 90 days on
    seen = set(_types(uow, w.org_id)) | set(_types(uow, declined.org_id))
    assert seen == events.EVENT_TYPES
    with uow() as s:
        converted = events.list_events(s, org_id=w.org_id, after=None, limit=1000, type="subscription.converted")
        assert [(e.data["object"], e.data["id"], e.data["status"]) for e in converted] == [
            ("subscription", trial.id, "active")
        ]
        assert converted[0].data["previous_attributes"]["status"] == "trial"
        failed = events.list_events(s, org_id=declined.org_id, after=None, limit=10, type="payment.failed")
        assert failed and failed[0].data["failure_code"] == "declined"


def test_events_of_a_refused_change_are_not_written(uow):
    with uow() as s:
        w = world(s, now=T0, card=False)
    with pytest.raises(Refused), uow() as s:
        subscriptions.start_trial(s, org_id=w.org_id, sku="BIZ", seats=5, actor=OPERATOR, now=T0)
        subscriptions.buy(s, org_id=w.org_id, sku="BIZ", seats=5, actor=OPERATOR, now=T0)  # no card: refused
    assert _types(uow, w.org_id) == []
