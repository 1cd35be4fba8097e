"""Payment methods over the JSON API: `GET|POST /v1/organizations/{org}/payment-methods` (R9, R21)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from seatwise import db
from tests.api import client_with_key
from tests.conftest import T0
from tests.factories import world

TABLES = ("payment_methods", "audit_log", "events")
GOOD, DECLINED = "4242 4242 4242 4242", "4000 0000 0000 0002"


def _rows(url: str) -> dict:
    with db.read_only(url) as s:
        return {t: s.execute(text(f"SELECT * FROM {t} ORDER BY 1")).all() for t in TABLES}


def _setup(uow, db_url, *, card: bool = False):
    with uow() as s:
        w = world(s, now=T0, users=1, card=card)
    clients = {
        role: client_with_key(uow, db_url, org_id=w.org_id, as_user=getattr(w, role).user_id)
        for role in ("global_admin", "billing_admin", "user_admin")
    }
    return w, clients


def _digits(number: str) -> str:
    return number.replace(" ", "")


def test_r21_a_card_answers_only_brand_last_four_and_expiry_never_its_number(uow, db_url):
    w, clients = _setup(uow, db_url)
    path = f"/v1/organizations/{w.org_id}/payment-methods"
    added = clients["billing_admin"].post(path, json={"card": GOOD, "exp": "12/30"})
    assert added.status_code == 201, added.text
    method = added.json()
    assert method == {
        "id": method["id"],
        "org_id": w.org_id,
        "kind": "card",
        "brand": "visa",
        "last4": _digits(GOOD)[-4:],
        "expires": "12/2030",
    }
    listed = clients["global_admin"].get(path)
    assert listed.json() == {"data": [method], "next_cursor": None}
    for answer in (added.text, listed.text):
        assert _digits(GOOD) not in answer and GOOD not in answer and _digits(GOOD)[:12] not in answer
    # Nor is it stored anywhere: only a gateway token, brand, last four digits and expiry (decisions: Cards).
    stored = _rows(db_url)
    assert all(_digits(GOOD) not in repr(row) for rows in stored.values() for row in rows)


def test_r21_cards_of_other_brands_and_an_mm_yyyy_expiry(uow, db_url):
    w, clients = _setup(uow, db_url)
    path = f"/v1/organizations/{w.org_id}/payment-methods"
    for number, exp, brand, expires in (
        ("5555-5555-5555-4444", "1/31", "mastercard", "01/2031"),
        ("378282246310005", "11/2029", "amex", "11/2029"),
    ):
        added = clients["global_admin"].post(path, json={"card": number, "exp": exp})
        assert added.status_code == 201, added.text
        assert (added.json()["brand"], added.json()["last4"], added.json()["expires"]) == (
            brand,
            _digits(number.replace("-", ""))[-4:],
            expires,
        )


def test_r21_the_declined_test_card_can_be_added_and_is_declined_when_charged(uow, db_url):
    """As with Stripe's test cards, 4000 0000 0000 0002 is accepted as a card and declined by the gateway
    when charged (the simulator tokenizes it as a declining card)."""
    w, clients = _setup(uow, db_url)
    path = f"/v1/organizations/{w.org_id}/payment-methods"
    added = clients["billing_admin"].post(path, json={"card": DECLINED, "exp": "12/30"})
    assert added.status_code == 201, added.text
    assert (added.json()["brand"], added.json()["last4"]) == ("visa", _digits(DECLINED)[-4:])
    with db.read_only(db_url) as s:
        token = s.execute(text("SELECT token FROM payment_methods WHERE id = :id"), {"id": added.json()["id"]}).scalar()
    assert "declined" in token and _digits(DECLINED) not in token
    bought = clients["billing_admin"].post(
        f"/v1/organizations/{w.org_id}/subscriptions", json={"sku": w.sku, "seats": 1}
    )
    assert bought.status_code == 201
    run = client_with_key(uow, db_url, at=T0 + timedelta(days=1)).post("/v1/billing-runs", json={})
    assert run.status_code == 200 and run.json()["payments"] == {"failed": 1}
    [invoice] = clients["billing_admin"].get(f"/v1/organizations/{w.org_id}/invoices").json()["data"]
    assert (invoice["status"], invoice["paid_at"]) == ("open", None)


def test_r21_pay_by_invoice_is_a_payment_method_and_the_newest_is_listed_first(uow, db_url):
    w, clients = _setup(uow, db_url, card=True)  # the factory's card is the oldest
    path = f"/v1/organizations/{w.org_id}/payment-methods"
    by_invoice = clients["global_admin"].post(path, json={"invoice": True})
    assert by_invoice.status_code == 201
    assert by_invoice.json() == {
        "id": by_invoice.json()["id"],
        "org_id": w.org_id,
        "kind": "invoice",
        "brand": None,
        "last4": None,
        "expires": None,
    }
    card = clients["global_admin"].post(path, json={"card": GOOD, "exp": "06/29"}).json()
    listed = clients["billing_admin"].get(path).json()["data"]
    assert [m["id"] for m in listed] == [card["id"], by_invoice.json()["id"], listed[-1]["id"]]
    assert listed[-1]["id"] < by_invoice.json()["id"] < card["id"]


def test_r9_a_user_admin_sees_but_may_not_change_payment_methods_and_another_organisation_finds_nothing(uow, db_url):
    w, clients = _setup(uow, db_url, card=True)
    with uow() as s:
        other = world(s, now=T0, users=1, name="Fabrikam", sku="FAB")
    stranger = client_with_key(uow, db_url, org_id=other.org_id, as_user=other.global_admin.user_id)
    path = f"/v1/organizations/{w.org_id}/payment-methods"
    before = _rows(db_url)
    for body in ({"card": GOOD, "exp": "12/30"}, {"invoice": True}):
        refused = clients["user_admin"].post(path, json=body)
        assert (refused.status_code, refused.json()["code"]) == (403, "not_authorized"), body
    seen = clients["user_admin"].get(path)  # as on the admin center's Bills & payments
    assert seen.status_code == 200 and seen.json()["data"] == clients["billing_admin"].get(path).json()["data"]
    for answer, missing in (
        (
            stranger.post(path, json={"invoice": True}),
            stranger.post("/v1/organizations/99999/payment-methods", json={"invoice": True}),
        ),
        (stranger.get(path), stranger.get("/v1/organizations/99999/payment-methods")),
    ):
        assert answer.status_code == missing.status_code == 404
        assert answer.json()["code"] == missing.json()["code"] == "unknown_org"
    assert _rows(db_url) == before
    operator = client_with_key(uow, db_url)
    assert operator.post(path, json={"invoice": True}).status_code == 201
    assert operator.get("/v1/organizations/99999/payment-methods").json()["code"] == "unknown_org"


def test_bad_cards_and_expiries_are_422_with_a_code_and_change_nothing(uow, db_url):
    w, clients = _setup(uow, db_url)
    client, path = clients["billing_admin"], f"/v1/organizations/{w.org_id}/payment-methods"
    last_month = T0.replace(day=1) - timedelta(days=1)  # October 2026: passed at T0
    before = _rows(db_url)
    for body, code in (
        ({"card": GOOD, "exp": "13/30"}, "invalid_expiry"),
        ({"card": GOOD, "exp": "00/30"}, "invalid_expiry"),
        ({"card": GOOD, "exp": "12-30"}, "invalid_expiry"),
        ({"card": GOOD, "exp": "soon"}, "invalid_expiry"),
        ({"card": GOOD}, "invalid_expiry"),
        ({"card": GOOD, "exp": f"{last_month.month:02d}/{last_month.year % 100:02d}"}, "card_expired"),
        ({"card": "4242 4242 4242 4241", "exp": "12/30"}, "invalid_card_number"),
        ({"card": "4242", "exp": "12/30"}, "invalid_card_number"),
        ({"card": "４２４２４２４２４２４２４２４２", "exp": "12/30"}, "invalid_card_number"),
        ({"card": GOOD, "exp": "12/30", "invoice": True}, "invalid_payment_method"),
        ({"invoice": True, "exp": "12/30"}, "invalid_payment_method"),
        ({}, "invalid_payment_method"),
    ):
        refused = client.post(path, json=body)
        assert (refused.status_code, refused.json()["code"]) == (422, code), (body, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert _digits(GOOD) not in refused.text
    for body, field in (
        ({"card": GOOD, "exp": "12/30", "cvc": "123"}, "cvc"),
        ({"invoice": "maybe"}, "invoice"),
        ({"card": "4" * 41, "exp": "12/30"}, "card"),
        ({"card": GOOD, "exp": "12/30" * 3}, "exp"),
    ):
        refused = client.post(path, json=body)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field, (body, refused.text)
    # This month's card is still valid through the month.
    assert _rows(db_url) == before
    this_month = client.post(path, json={"card": GOOD, "exp": f"{T0.month:02d}/{T0.year % 100:02d}"})
    assert this_month.status_code == 201, this_month.text
