"""Licences over the JSON API (R9, R12, R13): totals, assignments, and who may change them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from seatwise import db
from seatwise.core.roles import OPERATOR
from seatwise.subscriptions import service as subscriptions
from tests.api import client_with_key
from tests.conftest import T0
from tests.factories import world

DAY_4 = T0 + timedelta(days=3)


def _rows(url: str) -> dict:
    with db.read_only(url) as s:
        return {
            t: s.execute(text(f"SELECT * FROM {t} ORDER BY 1")).all()
            for t in ("subscriptions", "assignments", "charges")
        }


def _setup(uow, db_url):
    with uow() as s:
        w = world(s, now=T0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=2, actor=OPERATOR, now=T0)
        s.flush()
        sub_id = sub.id
    billing = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.billing_admin.user_id, at=DAY_4)
    people = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.user_admin.user_id, at=DAY_4)
    return w, sub_id, billing, people


def test_r12_r15_raising_the_total_charges_the_days_left_as_the_cli_shows_it(uow, db_url):
    _w, sub_id, billing, _ = _setup(uow, db_url)
    done = billing.put(f"/v1/subscriptions/{sub_id}/licenses", json={"total": 5})
    assert done.status_code == 200
    body = done.json()
    # 3 licences added on day 4 of 30 at €12.50: 27 days paid, 3 × 1250 × 27/30 = 3375.
    assert (body["change"], body["subscription"]["seats"]) == (3, 5)
    assert body["prorated"] == {
        "kind": "charge",
        "amount": {"amount": "33.75", "currency": "EUR"},
        "vat": {"amount": "0.00", "currency": "EUR"},  # no vendor profile: no VAT (R24)
        "total": {"amount": "33.75", "currency": "EUR"},
        "days": 27,
        "days_in_period": 30,
    }


def test_r13_assignments_stop_at_the_seat_count_and_a_billing_admin_may_not_assign(uow, db_url):
    w, sub_id, billing, people = _setup(uow, db_url)
    for user_id in w.user_ids[:2]:
        made = people.post(f"/v1/subscriptions/{sub_id}/assignments", json={"user_id": user_id})
        assert made.status_code == 201 and made.json()["user_id"] == user_id
    before = _rows(db_url)
    full = people.post(f"/v1/subscriptions/{sub_id}/assignments", json={"user_id": w.user_ids[2]})
    again = people.post(f"/v1/subscriptions/{sub_id}/assignments", json={"user_id": w.user_ids[0]})
    refused = billing.post(f"/v1/subscriptions/{sub_id}/assignments", json={"user_id": w.user_ids[2]})
    assert (full.status_code, full.json()["code"]) == (409, "no_free_licenses")
    assert (again.status_code, again.json()["code"]) == (409, "already_assigned")
    assert (refused.status_code, refused.json()["code"]) == (403, "not_authorized")
    below = billing.put(f"/v1/subscriptions/{sub_id}/licenses", json={"total": 1})
    assert (below.status_code, below.json()["code"]) == (409, "below_assigned")
    assert _rows(db_url) == before
    assert people.delete(f"/v1/subscriptions/{sub_id}/assignments/{w.user_ids[0]}").status_code == 204
    assert people.delete(f"/v1/subscriptions/{sub_id}/assignments/{w.user_ids[0]}").json()["code"] == "not_assigned"


def test_bad_licence_bodies_name_the_field_and_change_nothing(uow, db_url):
    _w, sub_id, billing, people = _setup(uow, db_url)
    before = _rows(db_url)
    for client, path, body, field in (
        (billing, "licenses", {"total": -1}, "total"),
        (billing, "licenses", {"total": "many"}, "total"),
        (billing, "licenses", {}, "total"),
        (billing, "licenses", {"total": 3, "seats": 4}, "seats"),
        (people, "assignments", {"user_id": 0}, "user_id"),
        (people, "assignments", {"user": 5}, "user_id"),
    ):
        send = client.put if path == "licenses" else client.post
        response = send(f"/v1/subscriptions/{sub_id}/{path}", json=body)
        assert response.status_code == 422 and field in {e["field"] for e in response.json()["errors"]}, body
    assert _rows(db_url) == before
