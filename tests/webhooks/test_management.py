"""Managing webhook endpoints over the JSON API: refused URLs, state and attempts, automatic disabling after a
day of failures, disable/enable, delete, secret rotation with both signatures for 24 h, resend, the limit of
16, who may do it, and the audit log of all of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from standardwebhooks import Webhook

from seatwise import db
from seatwise.core.roles import OPERATOR
from seatwise.events import service as events
from seatwise.subscriptions import service as subscriptions
from seatwise.webhooks import service as webhooks
from seatwise.webhooks import worker
from seatwise.webhooks.egress import Answer
from seatwise.webhooks.models import WebhookEndpoint
from tests.api import client_with_key
from tests.conftest import T0
from tests.factories import world
from tests.webhooks.test_egress import Hits, Now

TABLES = ("webhook_endpoints", "audit_log", "events", "webhook_deliveries")


def _rows(url: str) -> dict:
    with db.read_only(url) as s:
        return {t: s.execute(text(f"SELECT * FROM {t} ORDER BY 1")).all() for t in TABLES}


@pytest.fixture()
def hits():
    made = []

    def make(**kwargs) -> Hits:
        made.append(Hits(**kwargs))
        return made[-1]

    yield make
    for h in made:
        h.close()


def _setup(uow, db_url):
    with uow() as s:
        mine = world(s, now=T0, users=1)
        theirs = world(s, now=T0, users=1, name="Fabrikam", sku="FAB")
    admin = client_with_key(uow, db_url, org_id=mine.org_id, as_user=mine.global_admin.user_id)
    billing = client_with_key(uow, db_url, org_id=mine.org_id, as_user=mine.billing_admin.user_id)
    return mine, theirs, admin, billing


def _event(uow, org_id: int, at=T0) -> None:
    with uow() as s:
        sku = s.execute(text("SELECT count(*) FROM organizations WHERE id < :o"), {"o": org_id}).scalar()
        subscriptions.buy(s, org_id=org_id, sku=("BIZ", "FAB")[sku], seats=1, actor=OPERATOR, now=at)


def _audit(uow, org_id) -> list[tuple[str, str]]:
    with uow() as s:
        return [(e.action, e.actor) for e in events.entries(s, entity="webhook_endpoints", org_id=org_id)]


def test_registration_refuses_each_ssrf_url_of_issue_11_with_webhook_url_not_allowed(uow, db_url, monkeypatch):
    monkeypatch.setenv("SEATWISE_WEBHOOK_ALLOW", "")
    _mine, _theirs, admin, _ = _setup(uow, db_url)
    operator = client_with_key(uow, db_url)
    before = _rows(db_url)
    for url in (
        "http://127.0.0.1:8000/hook",
        "https://127.0.0.1/hook",
        "http://0x7f000001/",
        "https://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/",
        "http://localhost:5432/",
        "https://localhost:5432/",
        "http://hooks.contoso.example/plain-http",
    ):
        for client in (admin, operator):
            refused = client.post("/v1/webhook-endpoints", json={"url": url})
            assert (refused.status_code, refused.json()["code"]) == (422, "webhook_url_not_allowed"), (
                url,
                refused.text,
            )
            assert "\n" not in refused.json()["detail"]
    assert _rows(db_url) == before
    # What the operator allows passes, plain http too.
    monkeypatch.setenv("SEATWISE_WEBHOOK_ALLOW", "127.0.0.1, 10.0.0.0/8, hooks.intranet")
    for url in ("http://127.0.0.1:8000/hook", "http://0x7f000001/", "https://10.0.0.1/", "http://hooks.intranet/"):
        assert admin.post("/v1/webhook-endpoints", json={"url": url}).status_code == 201, url


def test_endpoints_list_their_state_and_show_their_attempts_with_status_latency_and_error(uow, db_url, hits):
    mine, _theirs, admin, _ = _setup(uow, db_url)
    failing = hits(reply=lambda path: (500, {}))
    added = admin.post("/v1/webhook-endpoints", json={"url": f"http://127.0.0.1:{failing.port}/hook"}).json()
    _event(uow, mine.org_id)
    worker.run_once(db_url, clock=Now(T0 + timedelta(minutes=1)))
    [listed] = admin.get("/v1/webhook-endpoints").json()["data"]
    assert listed["enabled"] is True and listed["disabled_reason"] is None
    assert datetime.fromisoformat(listed["failing_since"]) == T0 + timedelta(minutes=1)
    shown = admin.get(f"/v1/webhook-endpoints/{added['id']}").json()
    [attempt] = shown["recent_attempts"]
    assert (attempt["status"], attempt["error"]) == (500, "HTTP 500") and attempt["latency_ms"] >= 0
    assert datetime.fromisoformat(attempt["at"]) == T0 + timedelta(minutes=1)
    page = admin.get(f"/v1/webhook-endpoints/{added['id']}/attempts").json()
    assert page["data"] == [attempt]
    assert "whsec_" not in str(shown) + str(page) + str(listed)


def test_an_endpoint_failing_for_a_day_is_disabled_with_its_reason_and_gets_nothing_more(uow, db_url, hits):
    mine, _theirs, admin, _ = _setup(uow, db_url)
    failing = hits(reply=lambda path: (503, {}))
    added = admin.post("/v1/webhook-endpoints", json={"url": f"http://127.0.0.1:{failing.port}/hook"}).json()
    _event(uow, mine.org_id)
    start = T0 + timedelta(minutes=1)
    for after in (timedelta(0), timedelta(seconds=5), timedelta(minutes=6), timedelta(hours=23, minutes=59)):
        worker.run_once(db_url, clock=Now(start + after))
    assert admin.get(f"/v1/webhook-endpoints/{added['id']}").json()["enabled"] is True  # a day is not over yet
    worker.run_once(db_url, clock=Now(start + timedelta(days=2)))
    shown = admin.get(f"/v1/webhook-endpoints/{added['id']}").json()
    assert shown["enabled"] is False and datetime.fromisoformat(shown["disabled_at"]) == start + timedelta(days=2)
    assert (
        shown["disabled_reason"].startswith(f"failing since {start.isoformat()}")
        and "HTTP 503" in shown["disabled_reason"]
    )
    assert ("webhook_endpoint.disabled", "system:webhooks") in _audit(uow, mine.org_id)
    seen = len(failing.requests)
    _event(uow, mine.org_id, at=start)
    worker.run_once(db_url, clock=Now(start + timedelta(days=3)))
    assert len(failing.requests) == seen == 5


def test_disable_enable_and_delete_stop_and_resume_sending_and_are_audited(uow, db_url, hits):
    mine, _theirs, admin, _ = _setup(uow, db_url)
    receiver = hits()
    added = admin.post("/v1/webhook-endpoints", json={"url": f"http://127.0.0.1:{receiver.port}/hook"}).json()
    off = admin.put(f"/v1/webhook-endpoints/{added['id']}/enabled", json={"enabled": False})
    assert off.status_code == 200 and off.json()["enabled"] is False
    assert off.json()["disabled_reason"] == f"disabled by user:{mine.global_admin.user_id}"
    _event(uow, mine.org_id)
    worker.run_once(db_url, clock=Now(T0 + timedelta(minutes=1)))
    assert receiver.requests == []
    on = admin.put(f"/v1/webhook-endpoints/{added['id']}/enabled", json={"enabled": True})
    assert on.json()["enabled"] is True and on.json()["disabled_reason"] is None
    _event(uow, mine.org_id, at=T0 + timedelta(minutes=2))
    worker.run_once(db_url, clock=Now(T0 + timedelta(minutes=3)))
    assert len(receiver.requests) == 1  # what was written while it was off is not queued for it
    gone = admin.delete(f"/v1/webhook-endpoints/{added['id']}")
    assert gone.status_code == 204
    assert admin.get("/v1/webhook-endpoints").json()["data"] == []
    missing = admin.get(f"/v1/webhook-endpoints/{added['id']}")
    assert (missing.status_code, missing.json()["code"]) == (404, "unknown_webhook_endpoint")
    _event(uow, mine.org_id, at=T0 + timedelta(minutes=4))
    worker.run_once(db_url, clock=Now(T0 + timedelta(minutes=5)))
    assert len(receiver.requests) == 1
    user = f"user:{mine.global_admin.user_id}"
    assert _audit(uow, mine.org_id) == [
        ("webhook_endpoint.added", user),
        ("webhook_endpoint.disabled", user),
        ("webhook_endpoint.enabled", user),
        ("webhook_endpoint.deleted", user),
    ]
    with db.read_only(db_url) as s:
        assert "whsec_" not in str(s.execute(text("SELECT before, after FROM audit_log")).all())


def test_a_rotated_secret_is_shown_once_and_old_and_new_both_sign_for_24_hours(uow, db_url, hits):
    mine, _theirs, admin, _ = _setup(uow, db_url)
    receiver = hits()
    added = admin.post("/v1/webhook-endpoints", json={"url": f"http://127.0.0.1:{receiver.port}/hook"}).json()
    rotated = admin.post(f"/v1/webhook-endpoints/{added['id']}/secret-rotation")
    assert rotated.status_code == 201
    old, new = added["secret"], rotated.json()["secret"]
    assert new.startswith("whsec_") and new != old
    assert "whsec_" not in admin.get(f"/v1/webhook-endpoints/{added['id']}").text
    _event(uow, mine.org_id)
    worker.run_once(db_url, clock=Now(T0 + timedelta(hours=23)))
    _event(uow, mine.org_id, at=T0 + timedelta(hours=23))
    worker.run_once(db_url, clock=Now(T0 + timedelta(hours=24)))

    within, after = receiver.requests

    def signed_by(request) -> set[str]:
        at = datetime.fromtimestamp(int(request["webhook-timestamp"]), UTC)
        sent = request["webhook-signature"].split(" ")
        return {
            name
            for name, secret in (("new", new), ("old", old))
            if Webhook(secret).sign(request["webhook-id"], at, request["body"].decode()) in sent
        }

    assert len(within["webhook-signature"].split(" ")) == 2 and signed_by(within) == {"new", "old"}
    assert len(after["webhook-signature"].split(" ")) == 1 and signed_by(after) == {"new"}
    assert ("webhook_endpoint.secret_rotated", f"user:{mine.global_admin.user_id}") in _audit(uow, mine.org_id)


def test_an_event_is_resent_to_an_endpoint_with_the_same_webhook_id(uow, db_url, hits):
    mine, theirs, admin, _ = _setup(uow, db_url)
    receiver = hits()
    added = admin.post("/v1/webhook-endpoints", json={"url": f"http://127.0.0.1:{receiver.port}/hook"}).json()
    _event(uow, mine.org_id)
    worker.run_once(db_url, clock=Now(T0 + timedelta(minutes=1)))
    [first] = receiver.requests
    event_id = int(first["webhook-id"].removeprefix("evt_"))
    again = admin.post(f"/v1/webhook-endpoints/{added['id']}/resends", json={"event_id": event_id})
    assert again.status_code == 201 and again.json()["status"] == "pending"
    worker.run_once(db_url, clock=Now(T0 + timedelta(minutes=2)))
    assert [r["webhook-id"] for r in receiver.requests] == [first["webhook-id"]] * 2
    _event(uow, theirs.org_id)
    with db.read_only(db_url) as s:
        their_event = s.execute(text("SELECT max(id) FROM events WHERE org_id = :o"), {"o": theirs.org_id}).scalar()
    refused = admin.post(f"/v1/webhook-endpoints/{added['id']}/resends", json={"event_id": their_event})
    assert (refused.status_code, refused.json()["code"]) == (404, "unknown_event")
    assert ("webhook_endpoint.resent", f"user:{mine.global_admin.user_id}") in _audit(uow, mine.org_id)


def _claimed(uow, db_url, at):
    """An endpoint of the admin's organisation with one event whose attempt a worker has claimed at `at`."""
    mine, _, admin, _ = _setup(uow, db_url)
    added = admin.post("/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/hook"}).json()  # never sent to
    _event(uow, mine.org_id)
    with uow() as s:
        webhooks.queue(s, now=at)
        claim = webhooks.claim(s, now=at)
    return admin, added["id"], claim


def test_a_resend_while_the_event_is_being_sent_is_409_and_leaves_the_attempt_alone(uow, db_url):
    at = T0 + timedelta(minutes=1)
    admin, endpoint_id, claim = _claimed(uow, db_url, at)
    event_id = int(claim.headers["webhook-id"].removeprefix("evt_"))
    refused = admin.post(f"/v1/webhook-endpoints/{endpoint_id}/resends", json={"event_id": event_id})
    assert (refused.status_code, refused.json()["code"]) == (409, "webhook_delivery_in_flight")
    with uow() as s:
        [delivery] = webhooks.deliveries(s, endpoint_id=endpoint_id)
        assert delivery.next_attempt_at == claim.lease_until and delivery.attempts == 0  # not reset under the attempt
        assert webhooks.record(
            s, delivery_id=claim.delivery_id, lease_until=claim.lease_until, answer=Answer(204), now=at
        )
    again = admin.post(f"/v1/webhook-endpoints/{endpoint_id}/resends", json={"event_id": event_id})
    assert again.status_code == 201 and again.json()["status"] == "pending"


def test_an_attempt_that_outlived_its_lease_does_not_decide_what_became_of_the_delivery(uow, db_url):
    """A worker held up past the lease (a slow resolver, a stalled thread) records late: the attempt sent
    again after the lease owns the delivery, and the late record changes neither it nor the endpoint."""
    at = T0 + timedelta(minutes=1)
    _, endpoint_id, late = _claimed(uow, db_url, at)
    after = at + webhooks.LEASE
    with uow() as s:
        again = webhooks.claim(s, now=after)
    assert again is not None and again.delivery_id == late.delivery_id and again.lease_until > late.lease_until
    with uow() as s:
        held = webhooks.record(
            s, delivery_id=late.delivery_id, lease_until=late.lease_until, answer=Answer(None, "timed out"), now=after
        )
        [delivery] = webhooks.deliveries(s, endpoint_id=endpoint_id)
        assert not held and delivery.next_attempt_at == again.lease_until and delivery.attempts == 0
    with uow() as s:
        webhooks.record(s, delivery_id=again.delivery_id, lease_until=again.lease_until, answer=Answer(204), now=after)
    with uow() as s:
        [delivery] = webhooks.deliveries(s, endpoint_id=endpoint_id)
        endpoint = s.get(WebhookEndpoint, endpoint_id)
        assert (delivery.status, delivery.attempts, delivery.leased_until) == ("delivered", 1, None)
        assert endpoint.failing_since is None
        assert [a.error for a in webhooks.recent_attempts(s, endpoint_id=endpoint_id)] == [None, "timed out"]


def test_an_organisation_has_at_most_16_endpoints(uow, db_url):
    _mine, theirs, admin, _ = _setup(uow, db_url)
    for n in range(16):
        assert (
            admin.post("/v1/webhook-endpoints", json={"url": f"https://hooks.contoso.example/{n}"}).status_code == 201
        )
    before = _rows(db_url)
    refused = admin.post("/v1/webhook-endpoints", json={"url": "https://hooks.contoso.example/17"})
    assert (refused.status_code, refused.json()["code"]) == (422, "too_many_webhook_endpoints")
    assert "at most 16" in refused.json()["detail"]
    assert _rows(db_url) == before
    other = client_with_key(uow, db_url)
    assert (
        other.post(
            "/v1/webhook-endpoints", json={"url": "https://hooks.fabrikam.example/", "org_id": theirs.org_id}
        ).status_code
        == 201
    )


def test_r9_only_a_global_admin_or_the_operator_manages_endpoints(uow, db_url):
    _mine, _theirs, admin, billing = _setup(uow, db_url)
    added = admin.post("/v1/webhook-endpoints", json={"url": "https://hooks.contoso.example/"}).json()
    before = _rows(db_url)
    base = f"/v1/webhook-endpoints/{added['id']}"
    for method, path, body in (
        ("GET", base, None),
        ("GET", base + "/attempts", None),
        ("DELETE", base, None),
        ("PUT", base + "/enabled", {"enabled": False}),
        ("POST", base + "/secret-rotation", None),
        ("POST", base + "/resends", {"event_id": 1}),
    ):
        refused = billing.request(method, path, json=body)
        assert (refused.status_code, refused.json()["code"]) == (403, "not_authorized"), (method, path)
    assert _rows(db_url) == before
    operator = client_with_key(uow, db_url)
    assert operator.put(base + "/enabled", json={"enabled": False}).json()["disabled_reason"] == "disabled by operator"
