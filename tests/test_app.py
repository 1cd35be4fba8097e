"""The web app serves health and read-only JSON of subscriptions."""

from __future__ import annotations

from fastapi.testclient import TestClient

from seatwise.clock import FixedClock
from seatwise.core.roles import OPERATOR
from seatwise.licenses import service as licenses
from seatwise.subscriptions import service as subscriptions
from tests.conftest import T0
from tests.factories import world


def test_health_and_subscriptions_json(uow, db_url):
    from seatwise.app import create_app

    with uow() as s:
        w = world(s, now=T0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=3, actor=OPERATOR, now=T0)
        licenses.assign(s, sub_id=sub.id, user_id=w.user_ids[0], actor=OPERATOR, now=T0)
    client = TestClient(create_app(url=db_url, clock=FixedClock(T0)))
    assert client.get("/health").json() == {"status": "ok", "time": T0.isoformat()}
    [listed] = client.get("/v1/subscriptions").json()
    one = client.get(f"/v1/subscriptions/{sub.id}").json()
    assert listed == one
    assert {k: one[k] for k in ("status", "seats", "assigned", "unit_price", "currency", "current_period_start")} == {
        "status": "active", "seats": 3, "assigned": 1, "unit_price": "12.50", "currency": "EUR",
        "current_period_start": "2026-11-01T00:00:00Z"}
    missing = client.get("/v1/subscriptions/999")
    assert (missing.status_code, missing.json()["code"]) == (404, "unknown_subscription")
