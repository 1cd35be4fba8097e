"""Webhook endpoints over the JSON API: `GET|POST /v1/webhook-endpoints` (R9)."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import text

from seatwise import db
from tests.api import client_with_key
from tests.conftest import T0
from tests.factories import world

TABLES = ("webhook_endpoints", "audit_log", "events")
HOOK = "https://hooks.contoso.example/seatwise"


def _rows(url: str) -> dict:
    with db.read_only(url) as s:
        return {t: s.execute(text(f"SELECT * FROM {t} ORDER BY 1")).all() for t in TABLES}


def _showing_500s(client: TestClient) -> TestClient:
    """The same key and app, answering a crash with its 500 instead of raising it into the test."""
    return TestClient(client.app, raise_server_exceptions=False, headers=dict(client.headers))


def _setup(uow, db_url):
    with uow() as s:
        mine = world(s, now=T0, users=1)
        theirs = world(s, now=T0, users=1, name="Fabrikam", sku="FAB")
    keys = {
        role: client_with_key(uow, db_url, org_id=mine.org_id, as_user=getattr(mine, role).user_id)
        for role in ("global_admin", "billing_admin", "user_admin")
    }
    keys["theirs"] = client_with_key(uow, db_url, org_id=theirs.org_id, as_user=theirs.global_admin.user_id)
    keys["operator"] = client_with_key(uow, db_url)
    return mine, theirs, keys


def test_r9_a_global_admin_adds_an_endpoint_for_its_organisation_and_sees_the_secret_once(uow, db_url):
    mine, _theirs, keys = _setup(uow, db_url)
    added = keys["global_admin"].post("/v1/webhook-endpoints", json={"url": HOOK})
    assert added.status_code == 201, added.text
    endpoint = added.json()
    assert (endpoint["org_id"], endpoint["url"]) == (mine.org_id, HOOK)  # the key's organisation by default
    assert datetime.fromisoformat(endpoint["created_at"]) == T0
    assert endpoint["secret"].startswith("whsec_") and len(endpoint["secret"]) > len("whsec_") + 32
    listed = keys["global_admin"].get("/v1/webhook-endpoints")
    assert listed.status_code == 200
    shown = {k: v for k, v in endpoint.items() if k != "secret"}
    assert listed.json() == {"data": [shown], "next_cursor": None}
    assert endpoint["secret"] not in listed.text and "whsec_" not in listed.text
    assert keys["operator"].get("/v1/webhook-endpoints").json()["data"] == [shown]
    # Naming its own organisation is the same; a second endpoint gets its own secret.
    again = keys["global_admin"].post("/v1/webhook-endpoints", json={"url": HOOK + "/2", "org_id": mine.org_id})
    assert again.status_code == 201 and again.json()["org_id"] == mine.org_id
    assert again.json()["secret"] != endpoint["secret"]
    assert "whsec_" not in keys["global_admin"].get("/v1/webhook-endpoints").text


def test_r9_billing_and_user_admins_may_not_add_or_list_endpoints_and_nothing_changes(uow, db_url):
    mine, theirs, keys = _setup(uow, db_url)
    before = _rows(db_url)
    for role in ("billing_admin", "user_admin"):
        for body in ({"url": HOOK}, {"url": HOOK, "org_id": mine.org_id}):
            refused = keys[role].post("/v1/webhook-endpoints", json=body)
            assert (refused.status_code, refused.json()["code"]) == (403, "not_authorized"), (role, body)
            assert "secret" not in refused.json()
        listed = keys[role].get("/v1/webhook-endpoints")
        assert (listed.status_code, listed.json()["code"]) == (403, "not_authorized"), role
    # Another organisation's id in the body answers as a missing one (R9), and all organisations are the
    # operator's alone.
    theirs_answer = keys["global_admin"].post("/v1/webhook-endpoints", json={"url": HOOK, "org_id": theirs.org_id})
    missing = keys["global_admin"].post("/v1/webhook-endpoints", json={"url": HOOK, "org_id": 99999})
    assert theirs_answer.status_code == missing.status_code == 404
    assert theirs_answer.json()["code"] == missing.json()["code"] == "unknown_org"
    assert _rows(db_url) == before


def test_r9_the_operator_listens_to_every_organisation_or_to_one_and_an_org_key_lists_only_its_own(uow, db_url):
    _mine, theirs, keys = _setup(uow, db_url)
    everyone = keys["operator"].post("/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/all"})
    assert everyone.status_code == 201, everyone.text
    assert everyone.json()["org_id"] is None and everyone.json()["secret"].startswith("whsec_")
    explicit_null = keys["operator"].post("/v1/webhook-endpoints", json={"url": HOOK, "org_id": None})
    assert explicit_null.status_code == 201 and explicit_null.json()["org_id"] is None
    for_theirs = keys["operator"].post("/v1/webhook-endpoints", json={"url": HOOK, "org_id": theirs.org_id})
    assert (for_theirs.status_code, for_theirs.json()["org_id"]) == (201, theirs.org_id)
    their_own = keys["theirs"].post("/v1/webhook-endpoints", json={"url": HOOK, "org_id": None})
    assert (their_own.status_code, their_own.json()["org_id"]) == (201, theirs.org_id)  # null: the key's own
    mine_added = keys["global_admin"].post("/v1/webhook-endpoints", json={"url": HOOK}).json()
    ids = lambda client: [e["id"] for e in client.get("/v1/webhook-endpoints").json()["data"]]  # noqa: E731
    assert ids(keys["global_admin"]) == [mine_added["id"]]
    assert ids(keys["theirs"]) == [for_theirs.json()["id"], their_own.json()["id"]]
    assert ids(keys["operator"]) == [
        everyone.json()["id"],
        explicit_null.json()["id"],
        for_theirs.json()["id"],
        their_own.json()["id"],
        mine_added["id"],
    ]
    before = _rows(db_url)
    unknown = keys["operator"].post("/v1/webhook-endpoints", json={"url": HOOK, "org_id": 99999})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_org")
    assert _rows(db_url) == before


def test_an_endpoint_hears_only_events_from_its_creation_on(uow, db_url):
    mine, _theirs, keys = _setup(uow, db_url)
    trial = keys["global_admin"].post(
        f"/v1/organizations/{mine.org_id}/subscriptions", json={"sku": mine.sku, "seats": 1, "trial": True}
    )
    assert trial.status_code == 201
    added = keys["global_admin"].post("/v1/webhook-endpoints", json={"url": HOOK}).json()
    with db.read_only(db_url) as s:
        last_event = s.execute(text("SELECT max(id) FROM events")).scalar()
        first = s.execute(
            text("SELECT first_event_id FROM webhook_endpoints WHERE id = :id"), {"id": added["id"]}
        ).scalar()
    assert first == last_event + 1


def test_a_url_that_is_not_http_is_422_invalid_url_and_changes_nothing(uow, db_url):
    _mine, _theirs, keys = _setup(uow, db_url)
    before = _rows(db_url)
    for url in (
        "ftp://hooks.contoso.example/x",
        "hooks.contoso.example/x",
        "javascript:alert(1)",
        "http://",
        "https:///path-only",
        "file:///etc/passwd",
        "mailto:ops@contoso.example",
        "",
    ):
        for key in ("global_admin", "operator"):
            refused = keys[key].post("/v1/webhook-endpoints", json={"url": url})
            assert (refused.status_code, refused.json()["code"]) == (422, "invalid_url"), (key, url, refused.text)
    for body, field in (
        ({"url": HOOK, "events": ["*"]}, "events"),
        ({}, "url"),
        ({"url": 5}, "url"),
        ({"url": "https://x.example/" + "a" * 2000}, "url"),
        ({"url": HOOK, "org_id": 0}, "org_id"),
        ({"url": HOOK, "org_id": "mine"}, "org_id"),
    ):
        refused = keys["global_admin"].post("/v1/webhook-endpoints", json=body)
        assert (refused.status_code, refused.json()["errors"][0]["field"]) == (422, field), body
    assert _rows(db_url) == before


def test_a_malformed_http_url_is_422_invalid_url_never_500(uow, db_url):
    """URLs that `urlsplit` cannot read (an unclosed IPv6 bracket) or that name no usable host or port
    are no more an endpoint than ftp:// is: each is refused as invalid_url, and nothing is stored."""
    _mine, _theirs, keys = _setup(uow, db_url)
    client = _showing_500s(keys["global_admin"])
    before = _rows(db_url)
    answers = {}
    for url in (
        "http://[::1",
        "https://[hooks.contoso.example/x",
        "http://hooks.contoso.example:99999/x",
        "http://hooks contoso.example/x",
    ):
        answer = client.post("/v1/webhook-endpoints", json={"url": url})
        answers[url] = (answer.status_code, answer.json().get("code"))
    assert answers == dict.fromkeys(answers, (422, "invalid_url"))
    assert _rows(db_url) == before
