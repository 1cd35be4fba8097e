"""Concurrent writers on `seatwise serve --workers 2`: each request's time is read once it holds its lock."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from seatwise import db
from seatwise.apikeys import service as apikeys
from seatwise.subscriptions import service as subscriptions
from tests.conftest import T0
from tests.factories import world
from tests.processes import call, serving

pytestmark = pytest.mark.xdist_group("processes")


def test_concurrent_licence_changes_on_two_server_processes_never_see_a_clock_before_the_last_change(uow, db_url):
    with uow() as s:
        w = world(s, now=T0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=5, actor=w.global_admin, now=T0)
        s.flush()
        _, key = apikeys.create(s, operator=False, org_id=w.org_id, as_user=w.global_admin.user_id, now=T0)
    with serving(db_url, workers=2) as server:
        url = f"{server.base}/v1/subscriptions/{sub.id}/licenses"
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda i: call(url, method="PUT", key=key, body={"total": 5 + i % 7}), range(160)))
    refused = [a.body.get("code") for a in answers if a.status != 200]
    assert refused == [], f"{len(refused)} of 160 refused: {sorted(set(refused))}"
    with db.read_only(db_url) as s:
        assert subscriptions.get(s, sub_id=sub.id).seats in range(5, 12)
