"""Invoices and billing runs over the JSON API (R9, R15–R20): `GET /v1/organizations/{org}/invoices`,
`GET /v1/invoices/{id}`, `POST /v1/billing-runs`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from fastapi.testclient import TestClient
from sqlalchemy import text

from seatwise import db
from seatwise.core.roles import OPERATOR
from seatwise.subscriptions import service as subscriptions
from tests.api import client_with_key
from tests.cli.conftest import Cli
from tests.conftest import T0
from tests.factories import world

PRICE = "12.50"
SEATS = 3
TABLES = ("subscriptions", "charges", "invoices", "invoice_counters", "payments", "ledger", "events", "audit_log")
NOV_1 = datetime(T0.year, T0.month, T0.day, tzinfo=UTC)  # the day of the purchase, and its period's start
NOV_2 = NOV_1 + timedelta(days=1)  # the midnight after the purchase: the day it is invoiced
DEC_1 = datetime(T0.year, T0.month + 1, 1, tzinfo=UTC)  # the end of the first monthly period


def _rows(url: str) -> dict:
    with db.read_only(url) as s:
        return {t: s.execute(text(f"SELECT * FROM {t} ORDER BY 1")).all() for t in TABLES}


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _cents(amount: str) -> int:
    return int(Decimal(amount) * 100)


def _euros(cents: int) -> str:
    return str((Decimal(cents) / 100).quantize(Decimal("0.01")))


def _number(sequence: int, year: int = T0.year) -> str:
    return f"SW-{year}-{sequence:06d}"


def _showing_500s(client: TestClient) -> TestClient:
    """The same key and app, answering a crash with its 500 instead of raising it into the test."""
    return TestClient(client.app, raise_server_exceptions=False, headers=dict(client.headers))


def _bought(uow, db_url, *, seats: int = SEATS):
    """An organisation with a card that bought `seats` licences at T0 over the API."""
    with uow() as s:
        w = world(s, now=T0, users=seats, price=PRICE)
    admin = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.billing_admin.user_id)
    made = admin.post(f"/v1/organizations/{w.org_id}/subscriptions", json={"sku": w.sku, "seats": seats})
    assert made.status_code == 201, made.text
    return w, made.json()["id"], admin


def test_r17_a_run_issues_the_invoice_that_the_list_shows_as_the_cli_does(uow, db_url):
    w, sub_id, admin = _bought(uow, db_url)
    operator = client_with_key(uow, db_url, at=NOV_2 + timedelta(hours=9))
    assert admin.get(f"/v1/organizations/{w.org_id}/invoices").json() == {"data": [], "next_cursor": None}
    run = operator.post("/v1/billing-runs", json={"as_of": NOV_2.isoformat()})
    assert run.status_code == 200, run.text
    due = SEATS * _cents(PRICE)
    summary = run.json()
    assert _when(summary["as_of"]) == NOV_2
    assert (summary["invoices"], summary["payments"], summary["invoiced"]) == (
        1,
        {"succeeded": 1},
        {"EUR": _euros(due)},
    )
    page = admin.get(f"/v1/organizations/{w.org_id}/invoices")
    assert page.status_code == 200 and page.json()["next_cursor"] is None
    [invoice] = page.json()["data"]
    assert (invoice["number"], invoice["org_id"], invoice["status"], invoice["currency"]) == (
        _number(1),
        w.org_id,
        "paid",
        "EUR",
    )
    assert _when(invoice["billing_date"]) == _when(invoice["issued_at"]) == _when(invoice["paid_at"]) == NOV_2
    assert _when(invoice["due_at"]) == NOV_2  # a card is charged on issue
    assert (invoice["total"], invoice["credit_applied"], invoice["amount_due"], invoice["refunded"]) == (
        _euros(due),
        _euros(0),
        _euros(due),
        _euros(0),
    )
    [line] = invoice["lines"]
    assert (line["kind"], line["subscription_id"], line["quantity"], line["amount"]) == (
        "period",
        sub_id,
        SEATS,
        _euros(due),
    )
    assert (_when(line["period_start"]), _when(line["period_end"])) == (NOV_1, DEC_1)
    # The same JSON as the CLI's, and as the invoice on its own.
    cli = Cli(db_url, now=NOV_2 + timedelta(hours=9))
    assert page.json()["data"] == cli.ok("invoice", "list", "--org", w.org_id)
    assert admin.get(f"/v1/invoices/{invoice['id']}").json() == invoice == cli.ok("invoice", "show", invoice["id"])
    assert operator.get(f"/v1/invoices/{invoice['id']}").json() == invoice


def test_r20_running_twice_creates_nothing_new(uow, db_url):
    w, _sub_id, admin = _bought(uow, db_url)
    operator = client_with_key(uow, db_url, at=NOV_2 + timedelta(hours=9))
    first = operator.post("/v1/billing-runs", json={"as_of": NOV_2.isoformat()})
    assert first.status_code == 200 and first.json()["invoices"] == 1
    invoices = admin.get(f"/v1/organizations/{w.org_id}/invoices").json()
    before = _rows(db_url)
    for body in ({"as_of": NOV_2.isoformat()}, {}, {"as_of": None}):  # again, and up to the clock's now
        again = operator.post("/v1/billing-runs", json=body)
        assert again.status_code == 200, (body, again.text)
        assert (again.json()["invoices"], again.json()["payments"], again.json()["invoiced"]) == (0, {}, {}), body
        assert again.json()["subscriptions"] == 0 and set(again.json()["transitions"].values()) == {0}
    assert _when(operator.post("/v1/billing-runs", json={}).json()["as_of"]) == NOV_2 + timedelta(hours=9)
    assert _rows(db_url) == before
    assert admin.get(f"/v1/organizations/{w.org_id}/invoices").json() == invoices


def test_r19_as_of_in_another_time_zone_is_the_same_instant(uow, db_url):
    w, _sub_id, admin = _bought(uow, db_url)
    operator = client_with_key(uow, db_url, at=NOV_2 + timedelta(hours=9))
    paris = NOV_2.astimezone(timezone(timedelta(hours=1)))  # 01:00 in Paris is midnight UTC
    run = operator.post("/v1/billing-runs", json={"as_of": paris.isoformat()})
    assert run.status_code == 200, run.text
    assert _when(run.json()["as_of"]) == NOV_2 and run.json()["invoices"] == 1
    [invoice] = admin.get(f"/v1/organizations/{w.org_id}/invoices").json()["data"]
    assert _when(invoice["billing_date"]) == NOV_2
    just_before = operator.post("/v1/billing-runs", json={"as_of": (paris - timedelta(seconds=1)).isoformat()})
    assert just_before.status_code == 200 and just_before.json()["invoices"] == 0


def test_r15_r16_a_cancellation_credit_is_refunded_by_the_run_at_the_period_end(uow, db_url):
    w, sub_id, admin = _bought(uow, db_url)
    client_with_key(uow, db_url, at=NOV_2 + timedelta(hours=9)).post("/v1/billing-runs", json={})
    day_3 = T0 + timedelta(days=2)
    canceled = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.global_admin.user_id, at=day_3).post(
        f"/v1/subscriptions/{sub_id}/cancellation", json={}
    )
    assert canceled.status_code == 200, canceled.text
    # Cancelled on day 3 of a 30-day period: the 27 days after it come back (R15), rounded half up once.
    days_after = (DEC_1 - (NOV_1 + timedelta(days=3))).days
    days_in_period = (DEC_1 - NOV_1).days
    credit = int((Decimal(SEATS * _cents(PRICE) * days_after) / days_in_period).quantize(Decimal(1), ROUND_HALF_UP))
    assert canceled.json()["decision"]["credit"] == {"amount": _euros(credit), "currency": "EUR"}
    operator = client_with_key(uow, db_url, at=DEC_1 + timedelta(hours=1))
    early = operator.post("/v1/billing-runs", json={"as_of": (DEC_1 - timedelta(seconds=1)).isoformat()})
    # The credit note was issued at once (R25); its money waits for the end of the cancelled period (R16).
    assert (early.json()["invoices"], early.json()["credit_notes_settled"]) == (0, 0)
    run = operator.post("/v1/billing-runs", json={"as_of": DEC_1.isoformat()})
    assert run.status_code == 200 and (run.json()["invoices"], run.json()["credit_notes_settled"]) == (0, 1)
    [first] = admin.get(f"/v1/organizations/{w.org_id}/invoices").json()["data"]
    assert first["number"] == _number(1)
    # Nothing to spend it on: it is refunded to the card, from the charge of the invoice it corrects, and none
    # is left unsettled (R16).
    with db.read_only(db_url) as s:
        note = s.execute(text("SELECT invoice_id, total, spent, refunded, settle_on FROM credit_notes")).one()
        refunds = s.execute(text("SELECT amount, invoice_id FROM payments WHERE kind = 'refund'")).all()
    assert tuple(note) == (first["id"], credit, 0, credit, None)
    assert [tuple(r) for r in refunds] == [(credit, first["id"])]


def test_r9_only_the_operator_runs_billing_and_a_refused_run_changes_nothing(uow, db_url):
    w, _sub_id, admin = _bought(uow, db_url)
    later = NOV_2 + timedelta(hours=9)
    keys = [
        client_with_key(uow, db_url, org_id=w.org_id, as_user=getattr(w, role).user_id, at=later)
        for role in ("global_admin", "billing_admin", "user_admin")
    ]
    before = _rows(db_url)
    for client in keys:
        for body in ({"as_of": NOV_2.isoformat()}, {}):
            refused = client.post("/v1/billing-runs", json=body)
            assert (refused.status_code, refused.json()["code"]) == (403, "not_authorized"), body
            assert refused.headers["content-type"] == "application/problem+json"
    assert _rows(db_url) == before
    assert admin.get(f"/v1/organizations/{w.org_id}/invoices").json()["data"] == []
    assert admin.post("/v1/billing-runs", headers={"Authorization": ""}, json={}).status_code == 401


def test_r19_a_run_beyond_the_clock_or_with_a_bad_as_of_is_422_and_changes_nothing(uow, db_url):
    _bought(uow, db_url)
    now = NOV_2 + timedelta(hours=9)
    operator = client_with_key(uow, db_url, at=now)
    before = _rows(db_url)
    future = operator.post("/v1/billing-runs", json={"as_of": (now + timedelta(seconds=1)).isoformat()})
    assert (future.status_code, future.json()["code"]) == (422, "as_of_in_future")
    assert future.headers["content-type"] == "application/problem+json"
    for as_of in ("tomorrow", "2026-11-31T00:00:00Z", 20261102):
        bad = operator.post("/v1/billing-runs", json={"as_of": as_of})
        assert bad.status_code == 422 and "as_of" in bad.json()["detail"], (as_of, bad.text)
    extra = operator.post("/v1/billing-runs", json={"as_of": NOV_2.isoformat(), "dry_run": True})
    assert (extra.status_code, extra.json()["code"], extra.json()["errors"][0]["field"]) == (
        422,
        "invalid_request",
        "dry_run",
    )
    assert _rows(db_url) == before


def test_r19_an_as_of_outside_the_years_seatwise_keeps_is_422_as_in_the_cli(uow, db_url):
    """Times are kept between 1970 and 2999 (decisions, "Time travel"); the CLI's --as-of refuses others
    with invalid_datetime. The API must refuse them too, and never answer 500."""
    _bought(uow, db_url)
    operator = _showing_500s(client_with_key(uow, db_url, at=NOV_2 + timedelta(hours=9)))
    before = _rows(db_url)
    answers = {}
    for as_of in ("0001-01-01T00:30:00+01:00", "0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z"):
        answer = operator.post("/v1/billing-runs", json={"as_of": as_of})
        answers[as_of] = (answer.status_code, "as_of" in answer.json().get("detail", ""))
    assert answers == dict.fromkeys(answers, (422, True))
    assert _rows(db_url) == before


def test_r9_invoices_of_another_organisation_answer_as_missing_ones(uow, db_url):
    w, _sub_id, admin = _bought(uow, db_url)
    with uow() as s:
        other = world(s, now=T0, users=1, name="Fabrikam", sku="FAB")
        subscriptions.buy(s, org_id=other.org_id, sku="FAB", seats=1, actor=OPERATOR, now=T0)
    client_with_key(uow, db_url, at=NOV_2).post("/v1/billing-runs", json={})
    [mine] = admin.get(f"/v1/organizations/{w.org_id}/invoices").json()["data"]
    stranger = client_with_key(uow, db_url, org_id=other.org_id, as_user=other.billing_admin.user_id)
    [theirs] = stranger.get(f"/v1/organizations/{other.org_id}/invoices").json()["data"]
    assert (mine["number"], theirs["number"]) in ((_number(1), _number(2)), (_number(2), _number(1)))
    for path, missing_path, code in (
        (f"/v1/invoices/{mine['id']}", "/v1/invoices/99999", "unknown_invoice"),
        (f"/v1/organizations/{w.org_id}/invoices", "/v1/organizations/99999/invoices", "unknown_org"),
    ):
        answer, missing = stranger.get(path), stranger.get(missing_path)
        assert answer.status_code == missing.status_code == 404, path
        assert answer.json()["code"] == missing.json()["code"] == code, path
    user_admin = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.user_admin.user_id)
    assert user_admin.get(f"/v1/invoices/{mine['id']}").json() == mine
    operator = client_with_key(uow, db_url)
    assert operator.get(f"/v1/invoices/{theirs['id']}").json() == theirs
    assert operator.get("/v1/organizations/99999/invoices").json()["code"] == "unknown_org"
    assert operator.get("/v1/invoices/0").status_code == 404
