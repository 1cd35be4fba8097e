"""The web app serves health, and JSON of subscriptions to callers with an API key, within their organisation."""

from __future__ import annotations

import shutil
import sqlite3

from fastapi.testclient import TestClient

from seatwise import db
from seatwise.apikeys import service as apikeys
from seatwise.clock import FixedClock
from seatwise.core.roles import OPERATOR
from seatwise.licenses import service as licenses
from seatwise.subscriptions import service as subscriptions
from tests.conftest import T0
from tests.factories import world


def _setup(uow):
    with uow() as s:
        w = world(s, now=T0)
        other = world(s, now=T0, name="Fabrikam", sku="FAB")
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=3, actor=OPERATOR, now=T0)
        theirs = subscriptions.buy(s, org_id=other.org_id, sku="FAB", seats=2, actor=OPERATOR, now=T0)
        s.flush()
        licenses.assign(s, sub_id=sub.id, user_id=w.user_ids[0], actor=OPERATOR, now=T0)
        _, org_key = apikeys.create(s, operator=False, org_id=w.org_id, as_user=w.billing_admin.user_id, now=T0)
        _, operator_key = apikeys.create(s, operator=True, org_id=None, as_user=None, now=T0)
        return sub.id, theirs.id, org_key, operator_key


def test_health_and_subscriptions_json_for_an_organisations_key(uow, db_url):
    from seatwise.app import create_app

    sub_id, theirs, org_key, operator_key = _setup(uow)
    client = TestClient(create_app(url=db_url, clock=FixedClock(T0)))
    assert client.get("/health").json() == {"status": "ok", "time": T0.isoformat()}
    auth = {"Authorization": f"Bearer {org_key}"}
    [listed] = client.get("/v1/subscriptions", headers=auth).json()["data"]
    one = client.get(f"/v1/subscriptions/{sub_id}", headers=auth).json()
    assert listed == one
    assert {k: one[k] for k in ("status", "seats", "assigned", "unit_price", "currency", "current_period_start")} == {
        "status": "active",
        "seats": 3,
        "assigned": 1,
        "unit_price": "12.50",
        "currency": "EUR",
        "current_period_start": "2026-11-01T00:00:00Z",
    }
    everyone = client.get("/v1/subscriptions", headers={"Authorization": f"Bearer {operator_key}"}).json()["data"]
    assert sorted(s["id"] for s in everyone) == [sub_id, theirs]


def test_r9_another_organisations_subscription_answers_as_a_missing_one(uow, db_url):
    from seatwise.app import create_app

    _sub_id, theirs, org_key, _ = _setup(uow)
    client = TestClient(create_app(url=db_url, clock=FixedClock(T0)))
    auth = {"Authorization": f"Bearer {org_key}"}
    other, missing = (
        client.get(f"/v1/subscriptions/{theirs}", headers=auth),
        client.get("/v1/subscriptions/999", headers=auth),
    )
    assert other.status_code == missing.status_code == 404
    assert other.json()["code"] == missing.json()["code"] == "unknown_subscription"
    assert other.headers["content-type"] == "application/problem+json"


def test_errors_are_problem_details_naming_the_field_and_keys_are_required(uow, db_url):
    from seatwise.app import create_app

    sub_id, _, org_key, _ = _setup(uow)
    client = TestClient(create_app(url=db_url, clock=FixedClock(T0)))
    for headers in ({}, {"Authorization": "Bearer sw_not-a-key"}, {"Authorization": f"Basic {org_key}"}):
        response = client.get(f"/v1/subscriptions/{sub_id}", headers=headers)
        body = response.json()
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert (body["code"], body["status"]) == ("unauthenticated", 401)
        assert body["type"] == "urn:seatwise:problem:unauthenticated"
    response = client.get("/v1/subscriptions/abc", headers={"Authorization": f"Bearer {org_key}"})
    body = response.json()
    assert response.status_code == 404 and body["errors"][0]["field"] == "sub_id" and "sub_id" in body["detail"]


def test_a_revoked_key_or_a_removed_admins_key_stops_working_at_once(uow, db_url):
    from seatwise.app import create_app
    from seatwise.organizations import service as organizations

    sub_id, _, org_key, operator_key = _setup(uow)
    client = TestClient(create_app(url=db_url, clock=FixedClock(T0)))
    path = f"/v1/subscriptions/{sub_id}"
    with uow() as s:
        [org_row, operator_row] = apikeys.list_keys(s)
        apikeys.revoke(s, key_id=operator_row.id, now=T0)
        organizations.remove_user(s, user_id=org_row.user_id, actor=OPERATOR, now=T0)
    assert client.get(path, headers={"Authorization": f"Bearer {operator_key}"}).status_code == 401
    assert client.get(path, headers={"Authorization": f"Bearer {org_key}"}).status_code == 401


def test_a_database_that_cannot_be_reached_answers_503_without_a_stack_trace():
    from seatwise.app import create_app

    # Every request fails below the domain's own errors: reported as a passing outage, not as a bug.
    app = create_app(url="postgresql+psycopg://postgres@127.0.0.1:1/nowhere", clock=FixedClock(T0))
    client = TestClient(app, raise_server_exceptions=False)
    api = client.get("/health")
    assert api.status_code == 503 and api.headers["content-type"] == "application/problem+json"
    assert api.json()["code"] == "database_unavailable" and "Traceback" not in api.text and "psycopg" not in api.text
    page = client.get("/signin")
    assert page.status_code == 503 and "cannot be reached at the moment" in page.text and "psycopg" not in page.text


def test_an_unexpected_failure_answers_without_a_stack_trace(db_url, monkeypatch):
    from seatwise.app import create_app

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("seatwise.catalog.service.page_products", broken)
    client = TestClient(create_app(url=db_url, clock=FixedClock(T0)), raise_server_exceptions=False)
    with db.unit_of_work(db_url) as s:
        _, key = apikeys.create(s, operator=True, org_id=None, as_user=None, now=T0)
    api = client.get("/v1/products", headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 500 and api.headers["content-type"] == "application/problem+json"
    assert api.json()["code"] == "internal_error" and "Traceback" not in api.text and "a bug" not in api.text


def test_a_sqlite_file_that_cannot_be_opened_answers_503(tmp_path):
    from seatwise.app import create_app

    # A directory where the database file should be: SQLITE_CANTOPEN, an outage and not a bug.
    (tmp_path / "seatwise.db").mkdir()
    client = TestClient(create_app(url=f"sqlite:///{tmp_path}/seatwise.db", clock=FixedClock(T0)))
    api = client.get("/health")
    assert api.status_code == 503 and api.json()["code"] == "database_unavailable"


def test_a_query_sqlite_refuses_is_a_500_whose_trace_is_logged_not_a_503(tmp_path, sqlite_template, caplog):
    """SQLite reports "no such column" as an OperationalError too; that is a bug, not an outage to retry."""
    from seatwise.app import create_app

    path = tmp_path / "seatwise.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    with db.unit_of_work(url) as s:
        _, key = apikeys.create(s, operator=True, org_id=None, as_user=None, now=T0)
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE products RENAME COLUMN name TO renamed_away")
    client = TestClient(create_app(url=url, clock=FixedClock(T0)), raise_server_exceptions=False)
    with caplog.at_level("ERROR", logger="seatwise"):
        api = client.get("/v1/products", headers={"Authorization": f"Bearer {key}"})
    db.engine_for(url).dispose()
    assert api.status_code == 500 and api.json()["code"] == "internal_error" and "no such column" not in api.text
    [logged] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert logged.exc_info is not None and "no such column" in str(logged.exc_info[1])
