"""`demo seed` makes subscriptions in every state, once."""

from __future__ import annotations

from sqlalchemy import func, select

from seatwise import demo
from seatwise.db import Base
from seatwise.payments.gateways import gateway_for
from tests.conftest import T0


def _row_counts(session) -> dict[str, int]:
    return {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def test_demo_seed_covers_every_state_and_is_idempotent(uow):
    gateway = gateway_for(uow.url)
    first = demo.seed(uow.url, now=T0, gateway=gateway)
    with uow() as s:
        counts = _row_counts(s)
    second = demo.seed(uow.url, now=T0, gateway=gateway)
    with uow() as s:
        assert _row_counts(s) == counts
    statuses = {sub["status"] for org in first["organizations"] for sub in org["subscriptions"]}
    assert statuses == {"trial", "active", "expired", "disabled", "deleted"}
    assert [o["locale"] for o in first["organizations"]] == ["en", "nl"]
    assert (first["seeded"], second["seeded"]) == (True, False)
    assert second["organizations"] == first["organizations"]
