"""R9 over the JSON API: every route that takes an id answers another organisation's ids with 404, as it
answers a missing one, and changes nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from seatwise import db
from seatwise.billing import credit_notes
from seatwise.billing import service as billing
from seatwise.core.roles import OPERATOR
from seatwise.licenses import service as licenses
from seatwise.payments.models import PaymentMethod
from seatwise.subscriptions import service as subscriptions
from seatwise.webhooks import service as webhooks
from tests.api import client_with_key
from tests.conftest import T0
from tests.factories import run_billing, world

TABLES = (
    "organizations",
    "users",
    "subscriptions",
    "assignments",
    "charges",
    "invoices",
    "credit_notes",
    "payment_methods",
    "audit_log",
    "events",
    "webhook_endpoints",
    "webhook_deliveries",
    "billing_profiles",
    "billing_notification_addresses",
)
BODIES = {
    "licenses": {"total": 5},
    "assignments": {"user_id": 0},
    "recurring-billing": {"enabled": False},
    "cancellation": {},
    "users": {"email": "new@contoso.example"},
    "subscriptions": {"sku": "BIZ", "seats": 2},
    "payment-methods": {"invoice": True},
    "enabled": {"enabled": False},
    "resends": {"event_id": 1},
    "billing-notifications": {"emails": ["ap@fabrikam.example"]},
    "billing-profile": {
        "legal_name": "Fabrikam",
        "address_line": "Dam 1",
        "postcode": "1012",
        "city": "A",
        "country": "NL",
    },
}


def _routes(app) -> list[tuple[str, str]]:
    """Every documented route with an id in its path."""
    return sorted(
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if "{" in path
        for method in operations
    )


def _rows(url: str) -> dict:
    with db.read_only(url) as s:
        return {t: s.execute(text(f"SELECT * FROM {t} ORDER BY 1")).all() for t in TABLES}


def test_r9_every_route_with_an_id_answers_another_organisations_ids_as_missing_ones(uow, db_url):
    with uow() as s:
        mine = world(s, now=T0)
        theirs = world(s, now=T0, name="Fabrikam", sku="FAB")
        sub = subscriptions.buy(s, org_id=theirs.org_id, sku="FAB", seats=3, actor=OPERATOR, now=T0)
        s.flush()
        licenses.assign(s, sub_id=sub.id, user_id=theirs.user_ids[0], actor=OPERATOR, now=T0)
    run_billing(uow, as_of=T0 + timedelta(days=1))
    with uow() as s:
        # A licence removed after the invoice: its credit is a credit note at once (R25).
        licenses.set_total(s, sub_id=sub.id, total=2, actor=OPERATOR, now=T0 + timedelta(days=2))
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=theirs.org_id)
        [note] = credit_notes.list_credit_notes(s, org_id=theirs.org_id)
        hook = webhooks.add_endpoint(
            s, org_id=theirs.org_id, url="https://hooks.fabrikam.example/", actor=OPERATOR, now=T0
        )
        ids = {
            "org_id": theirs.org_id,
            "sub_id": sub.id,
            "user_id": theirs.user_ids[0],
            "invoice_id": invoice.id,
            "credit_note_id": note.id,
            "endpoint_id": hook.id,
            "method_id": s.scalars(select(PaymentMethod.id).where(PaymentMethod.org_id == theirs.org_id)).one(),
        }
    client = client_with_key(uow, db_url, org_id=mine.org_id, as_user=mine.global_admin.user_id)
    routes = _routes(client.app)
    assert len(routes) >= 22, routes
    assert [p for _m, p in routes if "credit_note_id" in p] != []
    before = _rows(db_url)
    for method, path in routes:
        body = BODIES.get(path.rsplit("/", 1)[-1], {}) if method in ("POST", "PUT") else None
        if body == {"user_id": 0}:
            body = {"user_id": ids["user_id"]}
        theirs_answer = client.request(method, path.format(**ids), json=body)
        missing = client.request(method, path.format(**dict.fromkeys(ids, 2**31 - 1)), json=body)
        assert theirs_answer.status_code == missing.status_code == 404, (method, path, theirs_answer.text)
        assert theirs_answer.json()["code"] == missing.json()["code"], (method, path)
    # An id in a body is no different: a webhook for another organisation's events.
    hook = {"url": "http://127.0.0.1:9/hook"}
    theirs_answer = client.post("/v1/webhook-endpoints", json={**hook, "org_id": theirs.org_id})
    missing = client.post("/v1/webhook-endpoints", json={**hook, "org_id": 2**31 - 1})
    assert theirs_answer.status_code == missing.status_code == 404
    assert theirs_answer.json()["code"] == missing.json()["code"]
    assert _rows(db_url) == before
