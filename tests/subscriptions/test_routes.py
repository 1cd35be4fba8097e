"""The cancellation over the JSON API (R7–R10): the preview and the real thing agree, refusals are 409."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from seatwise import db
from seatwise.core.roles import OPERATOR
from seatwise.licenses import service as licenses
from seatwise.subscriptions import service as subscriptions
from tests.api import client_with_key
from tests.conftest import T0
from tests.factories import world

DAY_3 = T0 + timedelta(days=2)


def _org_with(uow, *, seats: int, assigned: int):
    with uow() as s:
        w = world(s, now=T0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=seats, actor=OPERATOR, now=T0)
        s.flush()
        for user_id in w.user_ids[:assigned]:
            licenses.assign(s, sub_id=sub.id, user_id=user_id, actor=OPERATOR, now=T0)
        return w, sub.id


def _rows(url: str) -> dict:
    with db.read_only(url) as s:
        return {t: s.execute(text(f"SELECT * FROM {t} ORDER BY 1")).all() for t in ("subscriptions", "charges")}


def test_r10_r15_the_preview_and_the_cancellation_agree_and_the_credit_is_27_of_30_days(uow, db_url):
    w, sub_id = _org_with(uow, seats=10, assigned=10)
    client = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.billing_admin.user_id, at=DAY_3)
    preview = client.get(f"/v1/subscriptions/{sub_id}/cancellation").json()
    assert (preview["allowed"], preview["code"], preview["credit"]) == (
        True,
        "allowed",
        {"amount": "112.50", "currency": "EUR"},
    )
    done = client.post(f"/v1/subscriptions/{sub_id}/cancellation", json={"reason": "too_expensive"})
    assert done.status_code == 200
    assert done.json()["decision"] == preview and done.json()["subscription"]["status"] == "disabled"


def test_r8_thirty_assigned_is_409_with_the_decision_and_nothing_changes(uow, db_url):
    w, sub_id = _org_with(uow, seats=30, assigned=30)
    client = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.global_admin.user_id, at=DAY_3)
    before = _rows(db_url)
    refused = client.post(f"/v1/subscriptions/{sub_id}/cancellation", json={})
    body = refused.json()
    assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"
    assert body["code"] == "too_many_assigned_licenses"
    assert body["decision"]["remedy"] == {"action": "unassign_licenses", "count": 6}
    assert body["decision"] == client.get(f"/v1/subscriptions/{sub_id}/cancellation").json()
    assert _rows(db_url) == before


def test_r9_a_user_admins_key_is_refused_and_another_organisations_key_finds_nothing(uow, db_url):
    w, sub_id = _org_with(uow, seats=5, assigned=1)
    with uow() as s:
        other = world(s, now=T0, name="Fabrikam", sku="FAB")
    user_admin = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.user_admin.user_id, at=DAY_3)
    stranger = client_with_key(uow, db_url, org_id=other.org_id, as_user=other.global_admin.user_id, at=DAY_3)
    before = _rows(db_url)
    refused = user_admin.post(f"/v1/subscriptions/{sub_id}/cancellation", json={})
    assert (refused.status_code, refused.json()["code"]) == (409, "not_authorized")
    for response in (
        stranger.get(f"/v1/subscriptions/{sub_id}/cancellation"),
        stranger.post(f"/v1/subscriptions/{sub_id}/cancellation", json={}),
    ):
        assert (response.status_code, response.json()["code"]) == (404, "unknown_subscription")
    assert _rows(db_url) == before


def test_bad_cancellation_bodies_name_the_field_and_change_nothing(uow, db_url):
    w, sub_id = _org_with(uow, seats=5, assigned=1)
    client = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.billing_admin.user_id, at=DAY_3)
    before = _rows(db_url)
    for body, field in (
        ({"reason": "bored"}, None),
        ({"reason": 5}, "reason"),
        ({"colour": "red"}, "colour"),
        ({"comment": "x" * 2001}, None),
    ):
        response = client.post(f"/v1/subscriptions/{sub_id}/cancellation", json=body)
        assert response.status_code == 422, body
        if field:
            assert response.json()["errors"][0]["field"] == field
    assert (
        client.post(
            f"/v1/subscriptions/{sub_id}/cancellation",
            content=b"{not json",
            headers={"content-type": "application/json"},
        ).status_code
        == 422
    )
    assert _rows(db_url) == before


def test_r4_r6_recurring_billing_off_then_expiry_and_reactivation(uow, db_url):
    w, sub_id = _org_with(uow, seats=2, assigned=0)
    client = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.billing_admin.user_id, at=DAY_3)
    off = client.put(f"/v1/subscriptions/{sub_id}/recurring-billing", json={"enabled": False})
    assert off.status_code == 200 and off.json()["recurring_billing"] is False
    later = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.billing_admin.user_id, at=T0 + timedelta(days=35))
    back = later.post(f"/v1/subscriptions/{sub_id}/reactivation")
    assert back.status_code == 200
    # Expired on 1 December; reactivated on 6 December: a new month from then, charged whole (R6).
    assert back.json()["subscription"]["status"] == "active"
    assert back.json()["charge"] == {"amount": "25.00", "currency": "EUR"}
    again = later.post(f"/v1/subscriptions/{sub_id}/reactivation")
    assert (again.status_code, again.json()["code"]) == (409, "not_reactivatable")
