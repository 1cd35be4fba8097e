"""Starting subscriptions over the JSON API: `GET|POST /v1/organizations/{org}/subscriptions` (R1, R3, R9, R21)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text

from seatwise import db
from seatwise.catalog import service as catalog
from seatwise.core.roles import OPERATOR
from seatwise.subscriptions import service as subscriptions
from tests.api import client_with_key
from tests.conftest import T0
from tests.factories import world

PRICE = "12.50"
TRIAL_DAYS = 30
TABLES = ("subscriptions", "charges", "invoices", "audit_log", "events")


def _rows(url: str) -> dict:
    with db.read_only(url) as s:
        return {t: s.execute(text(f"SELECT * FROM {t} ORDER BY 1")).all() for t in TABLES}


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _midnight(at: datetime) -> datetime:
    return datetime(at.year, at.month, at.day, tzinfo=UTC)


def _cents(amount: str) -> int:
    return int(Decimal(amount) * 100)


def _setup(uow, db_url, **options):
    with uow() as s:
        w = world(s, now=T0, users=3, **{"price": PRICE, "trial_days": TRIAL_DAYS, **options})
    clients = {
        role: client_with_key(uow, db_url, org_id=w.org_id, as_user=getattr(w, role).user_id)
        for role in ("global_admin", "billing_admin", "user_admin")
    }
    return w, clients


def test_r1_a_trial_is_started_for_the_products_trial_days_without_any_charge(uow, db_url):
    w, clients = _setup(uow, db_url)
    before = _rows(db_url)
    made = clients["billing_admin"].post(
        f"/v1/organizations/{w.org_id}/subscriptions", json={"sku": w.sku, "seats": 5, "trial": True}
    )
    assert made.status_code == 201, made.text
    sub = made.json()
    assert (sub["org_id"], sub["sku"], sub["status"], sub["seats"], sub["assigned"]) == (w.org_id, w.sku, "trial", 5, 0)
    # Started at 09:30 on 1 November: the trial runs from that midnight for 30 whole days.
    assert _when(sub["trial_end"]) == _midnight(T0) + timedelta(days=TRIAL_DAYS)
    assert _when(sub["current_period_start"]) == _midnight(T0)
    assert (sub["unit_price"], sub["currency"], sub["recurring_billing"]) == (PRICE, "EUR", True)
    after = _rows(db_url)
    assert after["charges"] == before["charges"] and after["invoices"] == before["invoices"]  # a trial costs nothing
    assert len(after["subscriptions"]) == len(before["subscriptions"]) + 1
    listed = clients["user_admin"].get(f"/v1/organizations/{w.org_id}/subscriptions").json()
    assert listed == {"data": [sub], "next_cursor": None}
    assert clients["global_admin"].get(f"/v1/subscriptions/{sub['id']}").json() == sub


def test_r1_one_trial_per_product_a_second_is_409_and_changes_nothing(uow, db_url):
    w, clients = _setup(uow, db_url)
    path = f"/v1/organizations/{w.org_id}/subscriptions"
    first = clients["global_admin"].post(path, json={"sku": w.sku, "seats": 2, "trial": True})
    assert first.status_code == 201
    before = _rows(db_url)
    again = clients["billing_admin"].post(path, json={"sku": w.sku, "seats": 3, "trial": True})
    assert (again.status_code, again.json()["code"]) == (409, "trial_already_used")
    assert again.headers["content-type"] == "application/problem+json"
    assert str(first.json()["id"]) in again.json()["detail"]
    assert _rows(db_url) == before
    # Buying the product after its trial is allowed.
    bought = clients["billing_admin"].post(path, json={"sku": w.sku, "seats": 3})
    assert (bought.status_code, bought.json()["status"]) == (201, "active")


def test_r1_a_product_without_trial_days_has_no_trial(uow, db_url):
    w, clients = _setup(uow, db_url, trial_days=0)
    before = _rows(db_url)
    refused = clients["global_admin"].post(
        f"/v1/organizations/{w.org_id}/subscriptions", json={"sku": w.sku, "seats": 2, "trial": True}
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "no_trial")
    assert _rows(db_url) == before


def test_r3_buying_is_active_from_today_and_bills_the_whole_first_period(uow, db_url):
    w, clients = _setup(uow, db_url)
    seats = 3
    made = clients["billing_admin"].post(
        f"/v1/organizations/{w.org_id}/subscriptions", json={"sku": w.sku, "seats": seats, "trial": False}
    )
    assert made.status_code == 201, made.text
    sub = made.json()
    assert (sub["status"], sub["status_reason"], sub["seats"], sub["trial_end"]) == ("active", None, seats, None)
    # Bought at 09:30 on 1 November: the first monthly period is 1 November to 1 December (R3).
    assert _when(sub["current_period_start"]) == _midnight(T0)
    assert _when(sub["current_period_end"]) == datetime(T0.year, T0.month + 1, 1, tzinfo=UTC)
    with db.read_only(db_url) as s:
        lines = s.execute(
            text("SELECT kind, quantity, amount, currency, invoice_id FROM charges WHERE subscription_id = :id"),
            {"id": sub["id"]},
        ).all()
    # One whole period billed in advance, pending until the next billing run.
    assert [tuple(line) for line in lines] == [("period", seats, seats * _cents(PRICE), "EUR", None)]
    assert sub in clients["global_admin"].get("/v1/subscriptions").json()["data"]


def test_r3_r21_buying_without_a_payment_method_is_409_and_changes_nothing(uow, db_url):
    w, clients = _setup(uow, db_url, card=False)
    before = _rows(db_url)
    refused = clients["global_admin"].post(
        f"/v1/organizations/{w.org_id}/subscriptions", json={"sku": w.sku, "seats": 2}
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "payment_method_required")
    assert _rows(db_url) == before
    # A trial needs no payment method (it expires without one, R2).
    trial = clients["global_admin"].post(
        f"/v1/organizations/{w.org_id}/subscriptions", json={"sku": w.sku, "seats": 2, "trial": True}
    )
    assert (trial.status_code, trial.json()["status"]) == (201, "trial")


def test_r9_a_user_admin_may_not_start_subscriptions_and_another_organisation_finds_nothing(uow, db_url):
    w, clients = _setup(uow, db_url)
    with uow() as s:
        other = world(s, now=T0, users=1, name="Fabrikam", sku="FAB")
        theirs = subscriptions.start_trial(s, org_id=other.org_id, sku="FAB", seats=1, actor=OPERATOR, now=T0)
        s.flush()
        their_sub = theirs.id
    stranger = client_with_key(uow, db_url, org_id=other.org_id, as_user=other.global_admin.user_id)
    before = _rows(db_url)
    path = f"/v1/organizations/{w.org_id}/subscriptions"
    for trial in (True, False):
        refused = clients["user_admin"].post(path, json={"sku": w.sku, "seats": 2, "trial": trial})
        assert (refused.status_code, refused.json()["code"]) == (403, "not_authorized"), trial
    theirs_answer = stranger.post(path, json={"sku": w.sku, "seats": 2, "trial": True})
    missing = stranger.post("/v1/organizations/99999/subscriptions", json={"sku": w.sku, "seats": 2, "trial": True})
    assert theirs_answer.status_code == missing.status_code == 404
    assert theirs_answer.json()["code"] == missing.json()["code"] == "unknown_org"
    assert stranger.get(path).status_code == 404
    assert _rows(db_url) == before
    # A User admin still sees the organisation's subscriptions, and only those.
    listed = clients["user_admin"].get(path)
    assert listed.status_code == 200 and listed.json()["data"] == []
    assert their_sub not in [s["id"] for s in clients["user_admin"].get("/v1/subscriptions").json()["data"]]


def test_r9_the_operator_starts_a_trial_for_any_organisation_and_an_unknown_one_is_404(uow, db_url):
    w, _ = _setup(uow, db_url)
    operator = client_with_key(uow, db_url)
    made = operator.post(f"/v1/organizations/{w.org_id}/subscriptions", json={"sku": w.sku, "seats": 4, "trial": True})
    assert (made.status_code, made.json()["org_id"], made.json()["status"]) == (201, w.org_id, "trial")
    before = _rows(db_url)
    missing = operator.post("/v1/organizations/99999/subscriptions", json={"sku": w.sku, "seats": 4})
    assert (missing.status_code, missing.json()["code"]) == (404, "unknown_org")
    assert operator.get("/v1/organizations/99999/subscriptions").json()["code"] == "unknown_org"
    assert _rows(db_url) == before


def test_an_unknown_sku_a_seat_cap_and_another_currency_are_refused_and_change_nothing(uow, db_url):
    w, clients = _setup(uow, db_url)
    with uow() as s:
        catalog.add_product(
            s,
            sku="CAPPED",
            name="Capped",
            price="5.00",
            currency="EUR",
            interval="monthly",
            trial_days=30,
            max_seats=300,
            policy="standard",
            now=T0,
        )
        catalog.add_product(
            s,
            sku="YEN",
            name="Yen",
            price="500",
            currency="JPY",
            interval="monthly",
            trial_days=30,
            max_seats=None,
            policy="standard",
            now=T0,
        )
    client, path = clients["billing_admin"], f"/v1/organizations/{w.org_id}/subscriptions"
    before = _rows(db_url)
    for body, status, code in (
        ({"sku": "NOPE", "seats": 2}, 404, "unknown_sku"),
        ({"sku": "NOPE", "seats": 2, "trial": True}, 404, "unknown_sku"),
        ({"sku": "CAPPED", "seats": 301}, 409, "seat_cap_exceeded"),
        ({"sku": "CAPPED", "seats": 301, "trial": True}, 409, "seat_cap_exceeded"),
        ({"sku": "YEN", "seats": 1}, 409, "currency_mismatch"),
    ):
        refused = client.post(path, json=body)
        assert (refused.status_code, refused.json()["code"]) == (status, code), body
    assert _rows(db_url) == before
    capped = client.post(path, json={"sku": "CAPPED", "seats": 300})
    assert (capped.status_code, capped.json()["seats"]) == (201, 300)


def test_bad_subscription_bodies_are_422_naming_the_field_and_change_nothing(uow, db_url):
    w, clients = _setup(uow, db_url)
    client, path = clients["global_admin"], f"/v1/organizations/{w.org_id}/subscriptions"
    before = _rows(db_url)
    for body, field in (
        ({"sku": w.sku, "seats": 2, "coupon": "FREE"}, "coupon"),
        ({"sku": w.sku, "seats": 2, "trial": True, "price": "0.01"}, "price"),
        ({"seats": 2}, "sku"),
        ({"sku": w.sku}, "seats"),
        ({"sku": w.sku, "seats": 0}, "seats"),
        ({"sku": w.sku, "seats": -3}, "seats"),
        ({"sku": w.sku, "seats": 1_000_001}, "seats"),
        ({"sku": w.sku, "seats": "two"}, "seats"),
        ({"sku": w.sku, "seats": 2, "trial": "maybe"}, "trial"),
        ({"sku": "X" * 101, "seats": 2}, "sku"),
    ):
        refused = client.post(path, json=body)
        assert refused.status_code == 422, (body, refused.text)
        problem = refused.json()
        assert problem["code"] == "invalid_request" and problem["errors"][0]["field"] == field, (body, problem)
        assert field in problem["detail"]
    assert client.post(path, content=b"{not json", headers={"content-type": "application/json"}).status_code == 422
    assert client.post("/v1/organizations/0/subscriptions", json={"sku": w.sku, "seats": 2}).status_code == 404
    assert client.post("/v1/organizations/abc/subscriptions", json={"sku": w.sku, "seats": 2}).status_code == 404
    assert _rows(db_url) == before
