"""The event outbox over the JSON API: `GET /v1/events` (R9: an organisation sees its own events)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import text

from seatwise import db
from seatwise.core.roles import OPERATOR
from seatwise.subscriptions import service as subscriptions
from tests.api import client_with_key
from tests.conftest import T0
from tests.factories import add_method, world

PRICE = "12.50"
DAY_3 = T0 + timedelta(days=2)
NOV_1 = datetime(T0.year, T0.month, T0.day, tzinfo=UTC)
NOV_2 = NOV_1 + timedelta(days=1)
DEC_1 = datetime(T0.year, T0.month + 1, 1, tzinfo=UTC)


def _cents(amount: str) -> int:
    return int(Decimal(amount) * 100)


def _euros(cents: int) -> str:
    return str((Decimal(cents) / 100).quantize(Decimal("0.01")))


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _all(client, **params) -> list[dict]:
    """Every event the key sees, page by page."""
    found, cursor = [], None
    while True:
        answer = client.get("/v1/events", params={**params, "limit": 100, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        found += answer.json()["data"]
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return found


def _clients(uow, db_url, w, *, at=T0) -> dict:
    return {
        role: client_with_key(uow, db_url, org_id=w.org_id, as_user=getattr(w, role).user_id, at=at)
        for role in ("global_admin", "billing_admin", "user_admin")
    }


def test_a_customers_actions_appear_as_events_in_order_with_their_object_and_id(uow, db_url):
    with uow() as s:
        w = world(s, now=T0, users=2, price=PRICE)
    keys = _clients(uow, db_url, w, at=DAY_3)
    path = f"/v1/organizations/{w.org_id}/subscriptions"
    trial = keys["billing_admin"].post(path, json={"sku": w.sku, "seats": 2, "trial": True}).json()
    assigned = keys["user_admin"].post(f"/v1/subscriptions/{trial['id']}/assignments", json={"user_id": w.user_ids[0]})
    assert assigned.status_code == 201
    seats = 4
    paid = keys["billing_admin"].post(path, json={"sku": w.sku, "seats": seats}).json()
    canceled = keys["global_admin"].post(f"/v1/subscriptions/{paid['id']}/cancellation", json={})
    assert canceled.status_code == 200, canceled.text
    events = _all(keys["billing_admin"])
    assert all(e["org_id"] == w.org_id and _when(e["timestamp"]) == DAY_3 for e in events)
    assert [e["id"] for e in events] == sorted({e["id"] for e in events})
    by_type = {e["type"]: e for e in events}
    assert set(by_type) == {
        "subscription.trial_started",
        "license.assigned",
        "subscription.started",
        "subscription.canceled",
        "credit.issued",
    }
    started = by_type["subscription.trial_started"]["data"]
    assert (started["object"], started["id"], started["status"]) == ("subscription", trial["id"], "trial")
    license = by_type["license.assigned"]["data"]
    assert (license["object"], license["subscription_id"], license["user_id"]) == (
        "license",
        trial["id"],
        w.user_ids[0],
    )
    assert isinstance(license["id"], int)
    ended = by_type["subscription.canceled"]["data"]
    assert (ended["object"], ended["id"], ended["status"], ended["status_reason"]) == (
        "subscription",
        paid["id"],
        "disabled",
        "canceled",
    )
    assert ended["previous_attributes"]["status"] == "active"
    credit = by_type["credit.issued"]["data"]
    # Bought and cancelled on 3 November (day 1 of its own period, 3 Nov – 3 Dec): the 29 days after it
    # come back, in minor units, rounded half up once (R15).
    period_start = datetime(DAY_3.year, DAY_3.month, DAY_3.day, tzinfo=UTC)
    period_end = period_start.replace(month=period_start.month + 1)
    days_after = (period_end - period_start).days - 1
    amount = int(
        (Decimal(seats * _cents(PRICE) * days_after) / (period_end - period_start).days).quantize(
            Decimal(1), ROUND_HALF_UP
        )
    )
    assert (credit["object"], credit["subscription_id"], credit["amount"], credit["currency"]) == (
        "credit",
        paid["id"],
        -amount,
        "EUR",
    )
    assert isinstance(credit["id"], int)
    assert canceled.json()["decision"]["credit"]["amount"] == _euros(amount)
    # The order things happened in: the cancellation, then the credit it gives.
    assert [e["type"] for e in events] == [
        "subscription.trial_started",
        "license.assigned",
        "subscription.started",
        "subscription.canceled",
        "credit.issued",
    ]


def test_r9_an_organisation_sees_only_its_events_and_the_operator_sees_all(uow, db_url):
    with uow() as s:
        mine = world(s, now=T0, users=1)
        theirs = world(s, now=T0, users=1, name="Fabrikam", sku="FAB")
    for w in (mine, theirs):
        made = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.global_admin.user_id).post(
            f"/v1/organizations/{w.org_id}/subscriptions", json={"sku": w.sku, "seats": 1, "trial": True}
        )
        assert made.status_code == 201
    with uow() as s:
        subscriptions.buy(s, org_id=mine.org_id, sku=mine.sku, seats=1, actor=OPERATOR, now=T0)
    mine_seen = _all(client_with_key(uow, db_url, org_id=mine.org_id, as_user=mine.user_admin.user_id))
    theirs_seen = _all(client_with_key(uow, db_url, org_id=theirs.org_id, as_user=theirs.billing_admin.user_id))
    everything = _all(client_with_key(uow, db_url))
    assert [e["type"] for e in mine_seen] == ["subscription.trial_started", "subscription.started"]
    assert [e["type"] for e in theirs_seen] == ["subscription.trial_started"]
    assert {e["org_id"] for e in mine_seen} == {mine.org_id} and {e["org_id"] for e in theirs_seen} == {theirs.org_id}
    assert everything == sorted(mine_seen + theirs_seen, key=lambda e: e["id"])
    with db.read_only(db_url) as s:
        assert s.execute(text("SELECT count(*) FROM events")).scalar() == len(everything)


def test_events_filtered_by_type_and_a_bad_type_is_422(uow, db_url):
    with uow() as s:
        mine = world(s, now=T0, users=1)
        theirs = world(s, now=T0, users=1, name="Fabrikam", sku="FAB")
        for w in (mine, theirs):
            subscriptions.start_trial(s, org_id=w.org_id, sku=w.sku, seats=1, actor=OPERATOR, now=T0)
            subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=1, actor=OPERATOR, now=T0)
    operator = client_with_key(uow, db_url)
    trials = _all(operator, type="subscription.trial_started")
    assert [(e["type"], e["org_id"]) for e in trials] == [
        ("subscription.trial_started", mine.org_id),
        ("subscription.trial_started", theirs.org_id),
    ]
    client = client_with_key(uow, db_url, org_id=mine.org_id, as_user=mine.global_admin.user_id)
    [bought] = _all(client, type="subscription.started")
    assert (bought["org_id"], bought["data"]["object"]) == (mine.org_id, "subscription")
    assert _all(client, type="invoice.issued") == [] and _all(client, type="no.such.type") == []
    too_long = client.get("/v1/events", params={"type": "x" * 41})
    assert (too_long.status_code, too_long.json()["errors"][0]["field"]) == (422, "type")
    assert client.get("/v1/events", headers={"Authorization": "Bearer sw_wrong"}).status_code == 401


def _billed_orgs(uow, db_url):
    """Two organisations that bought at T0: one pays with a good card, one with the declined test card."""
    with uow() as s:
        good = world(s, now=T0, users=2, price=PRICE)
        bad = world(s, now=T0, users=1, price=PRICE, name="Fabrikam", sku="FAB", card=False)
        add_method(
            s, org_id=bad.org_id, card_number="4000000000000002", expiry="12/30", invoice=False, actor=OPERATOR, now=T0
        )
        subscriptions.buy(s, org_id=good.org_id, sku=good.sku, seats=2, actor=OPERATOR, now=T0)
        subscriptions.buy(s, org_id=bad.org_id, sku=bad.sku, seats=1, actor=OPERATOR, now=T0)
    return good, bad


def test_r17_r21_a_billing_run_emits_invoice_issued_paid_and_payment_failed(uow, db_url):
    good, bad = _billed_orgs(uow, db_url)
    operator = client_with_key(uow, db_url, at=NOV_2)
    start = len(_all(operator))
    assert operator.post("/v1/billing-runs", json={}).json()["invoices"] == 2
    good_key = client_with_key(uow, db_url, org_id=good.org_id, as_user=good.billing_admin.user_id)
    bad_key = client_with_key(uow, db_url, org_id=bad.org_id, as_user=bad.billing_admin.user_id)
    [good_invoice] = good_key.get(f"/v1/organizations/{good.org_id}/invoices").json()["data"]
    [bad_invoice] = bad_key.get(f"/v1/organizations/{bad.org_id}/invoices").json()["data"]
    new = _all(operator)[start:]
    assert all(_when(e["timestamp"]) == NOV_2 for e in new)
    seen_by_good = [
        (e["type"], e["data"]["object"], e["data"]["id"])
        for e in _all(good_key)
        if e["type"].startswith(("invoice.", "payment."))
    ]
    assert seen_by_good == [
        ("invoice.issued", "invoice", good_invoice["id"]),
        ("invoice.paid", "invoice", good_invoice["id"]),
    ]
    issued = next(e["data"] for e in new if e["type"] == "invoice.issued" and e["org_id"] == good.org_id)
    assert (issued["number"], issued["total"], issued["amount_due"], issued["status"]) == (
        good_invoice["number"],
        2 * _cents(PRICE),
        2 * _cents(PRICE),
        "collecting",  # issued before its card is charged, outside the issuing transaction (R32)
    )
    seen_by_bad = [e for e in _all(bad_key) if e["type"].startswith(("invoice.", "payment."))]
    assert [e["type"] for e in seen_by_bad] == ["invoice.issued", "payment.failed"]
    assert (seen_by_bad[0]["data"]["id"], seen_by_bad[0]["data"]["status"]) == (bad_invoice["id"], "collecting")
    assert bad_invoice["status"] == "open"
    failed = seen_by_bad[1]["data"]
    assert (failed["object"], failed["invoice_id"], failed["amount"], failed["currency"], failed["failure_code"]) == (
        "payment",
        bad_invoice["id"],
        _cents(PRICE),
        "EUR",
        "declined",
    )


def test_r21_payment_failed_names_the_failed_payment_on_issue_as_on_retry(uow, db_url):
    """A `payment.failed` event carries the payment it is about, whether the card was declined when the
    invoice was issued or when it was retried three days later: one event type, one shape."""
    _good, bad = _billed_orgs(uow, db_url)
    client_with_key(uow, db_url, at=NOV_2).post("/v1/billing-runs", json={})
    retry_day = NOV_2 + timedelta(days=3)
    retried = client_with_key(uow, db_url, at=retry_day).post("/v1/billing-runs", json={})
    assert retried.json()["payments"] == {"retry_failed": 1}
    bad_key = client_with_key(uow, db_url, org_id=bad.org_id, as_user=bad.billing_admin.user_id)
    on_issue, on_retry = _all(bad_key, type="payment.failed")
    assert (_when(on_issue["timestamp"]), _when(on_retry["timestamp"])) == (NOV_2, retry_day)
    with db.read_only(db_url) as s:
        failed = s.execute(text("SELECT id FROM payments WHERE status = 'failed' ORDER BY id")).scalars().all()
    assert [on_issue["data"].get("id"), on_retry["data"].get("id")] == failed
    assert set(on_issue["data"]) == set(on_retry["data"])


def test_r16_a_credit_settled_by_a_run_is_an_event(uow, db_url):
    with uow() as s:
        w = world(s, now=T0, users=1, price=PRICE)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=2, actor=OPERATOR, now=T0)
        s.flush()
        sub_id = sub.id
    client_with_key(uow, db_url, at=NOV_2).post("/v1/billing-runs", json={})
    canceled = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.global_admin.user_id, at=DAY_3).post(
        f"/v1/subscriptions/{sub_id}/cancellation", json={}
    )
    credit = -_all(client_with_key(uow, db_url, org_id=w.org_id, as_user=w.global_admin.user_id), type="credit.issued")[
        0
    ]["data"]["amount"]
    assert canceled.json()["decision"]["credit"]["amount"] == _euros(credit)
    key = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.billing_admin.user_id)
    [issued] = _all(key, type="credit_note.issued")
    assert (issued["data"]["total"], _when(issued["timestamp"])) == (credit, DAY_3)  # at once (R25)
    assert client_with_key(uow, db_url, at=DEC_1).post("/v1/billing-runs", json={}).json()["credit_notes_settled"] == 1
    [settled] = _all(key, type="credit.settled")
    # No invoice in between to spend it on, no open invoice: refunded whole at the period's end (R16).
    assert settled["data"] == {
        "object": "credit",
        "credit_note_id": issued["data"]["id"],
        "currency": "EUR",
        "refunded": credit,
        "transferred": 0,
    }
    assert _when(settled["timestamp"]) == DEC_1
