"""Idempotency-Key on the JSON API's writes: the same key and body replays the first answer, another body
is refused, and keys are kept 24 hours."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from seatwise import db
from seatwise.apikeys import service as apikeys
from seatwise.core.errors import Refused
from seatwise.idempotency import service as idempotency
from seatwise.organizations.models import User
from seatwise.subscriptions.models import Subscription
from tests.conftest import T0
from tests.factories import world


class Clock:
    def __init__(self, at):
        self.at = at

    def now(self):
        return self.at


def _client(uow, db_url, w, clock) -> TestClient:
    from seatwise.app import create_app

    with uow() as s:
        _, key = apikeys.create(s, operator=False, org_id=w.org_id, as_user=w.global_admin.user_id, now=T0)
    client = TestClient(create_app(url=db_url, clock=clock))
    client.headers["Authorization"] = f"Bearer {key}"
    return client


def _count(uow, model) -> int:
    with uow() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_api_same_key_and_body_replays_the_first_answer_and_acts_once(uow, db_url):
    with uow() as s:
        w = world(s, now=T0)
    client = _client(uow, db_url, w, Clock(T0))
    users = _count(uow, User)
    path, body = f"/v1/organizations/{w.org_id}/users", {"email": "new@contoso.example"}
    first = client.post(path, json=body, headers={"Idempotency-Key": "add-new-1"})
    again = client.post(path, json=body, headers={"Idempotency-Key": "add-new-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert _count(uow, User) == users + 1
    # Without the key the same request is a second request: the address is taken now.
    assert client.post(path, json=body).json()["code"] == "duplicate_email"


def test_api_a_write_that_kept_its_answer_commits_once(uow, db_url):
    """The route keeps its answer in its own transaction; no second write transaction follows it."""
    with uow() as s:
        w = world(s, now=T0)
    client = _client(uow, db_url, w, Clock(T0))
    commits = []
    engine = db.engine_for(db_url)

    def committed(conn):
        commits.append(conn)

    event.listen(engine, "commit", committed)
    try:
        response = client.post(
            f"/v1/organizations/{w.org_id}/users",
            json={"email": "once@contoso.example"},
            headers={"Idempotency-Key": "one"},
        )
    finally:
        event.remove(engine, "commit", committed)
    assert response.status_code == 201 and len(commits) == 1


def test_api_a_refusal_is_replayed_too_and_a_new_key_runs_again(uow, db_url):
    with uow() as s:
        w = world(s, now=T0, card=False)
    client = _client(uow, db_url, w, Clock(T0))
    path, body = f"/v1/organizations/{w.org_id}/subscriptions", {"sku": "BIZ", "seats": 3}
    refused = client.post(path, json=body, headers={"Idempotency-Key": "buy"})
    assert refused.status_code == 409
    client.post(f"/v1/organizations/{w.org_id}/payment-methods", json={"card": "4242424242424242", "exp": "12/30"})
    replayed = client.post(path, json=body, headers={"Idempotency-Key": "buy"})
    assert (replayed.status_code, replayed.json()) == (409, refused.json())
    assert client.post(path, json=body, headers={"Idempotency-Key": "buy-2"}).status_code == 201
    assert _count(uow, Subscription) == 1


def test_api_same_key_with_another_body_is_refused_and_changes_nothing(uow, db_url):
    with uow() as s:
        w = world(s, now=T0)
    client = _client(uow, db_url, w, Clock(T0))
    path = f"/v1/organizations/{w.org_id}/users"
    client.post(path, json={"email": "a@contoso.example"}, headers={"Idempotency-Key": "k"})
    users = _count(uow, User)
    other = client.post(path, json={"email": "b@contoso.example"}, headers={"Idempotency-Key": "k"})
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert other.headers["content-type"] == "application/problem+json"
    other_path = client.delete(f"/v1/users/{w.user_ids[0]}", headers={"Idempotency-Key": "k"})
    assert other_path.status_code == 422
    assert _count(uow, User) == users
    too_long = client.post(path, json={"email": "c@contoso.example"}, headers={"Idempotency-Key": "x" * 256})
    assert (too_long.status_code, too_long.json()["code"]) == (422, "invalid_idempotency_key")
    assert _count(uow, User) == users


def test_api_keys_of_two_callers_never_meet(uow, db_url):
    with uow() as s:
        w = world(s, now=T0)
    one, two = _client(uow, db_url, w, Clock(T0)), _client(uow, db_url, w, Clock(T0))
    path = f"/v1/organizations/{w.org_id}/users"
    assert one.post(path, json={"email": "a@contoso.example"}, headers={"Idempotency-Key": "k"}).status_code == 201
    answer = two.post(path, json={"email": "b@contoso.example"}, headers={"Idempotency-Key": "k"})
    assert answer.status_code == 201 and answer.json()["email"] == "b@contoso.example"


def test_api_keys_are_kept_24_hours(uow, db_url):
    with uow() as s:
        w = world(s, now=T0)
    clock = Clock(T0)
    client = _client(uow, db_url, w, clock)
    path = f"/v1/subscriptions/{{}}/assignments/{w.user_ids[0]}"
    with uow() as s:
        from seatwise.core.roles import OPERATOR
        from seatwise.licenses import service as licenses
        from seatwise.subscriptions import service as subscriptions

        sub = subscriptions.buy(s, org_id=w.org_id, sku="BIZ", seats=3, actor=OPERATOR, now=T0)
        s.flush()
        licenses.assign(s, sub_id=sub.id, user_id=w.user_ids[0], actor=OPERATOR, now=T0)
        sub_id = sub.id
    first = client.delete(path.format(sub_id), headers={"Idempotency-Key": "free"})
    clock.at = T0 + timedelta(hours=23, minutes=59)
    again = client.delete(path.format(sub_id), headers={"Idempotency-Key": "free"})
    assert again.status_code == first.status_code == 204
    clock.at = T0 + timedelta(hours=24)
    # Forgotten: the same request runs again, and there is nothing left to unassign.
    assert client.delete(path.format(sub_id), headers={"Idempotency-Key": "free"}).status_code == 409
    with uow() as s:
        assert idempotency.forget_old(s, now=T0 + timedelta(hours=48)) == 1


def test_api_a_crash_after_the_change_commits_leaves_its_answer_so_a_retry_replays_it_at_once(uow, db_url, monkeypatch):
    with uow() as s:
        w = world(s, now=T0)
    clock = Clock(T0)
    client = _client(uow, db_url, w, clock)
    path, body = f"/v1/organizations/{w.org_id}/subscriptions", {"sku": w.sku, "seats": 3}
    # The process dies once the route's unit of work has committed: nothing after it runs.
    monkeypatch.setattr("seatwise.idempotency.middleware._finish", lambda *a, **k: None)
    first = client.post(path, json=body, headers={"Idempotency-Key": "buy-3"})
    monkeypatch.undo()
    again = client.post(path, json=body, headers={"Idempotency-Key": "buy-3"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert _count(uow, Subscription) == 1


def test_api_a_server_failure_after_the_change_commits_does_not_let_a_retry_run_it_again(uow, db_url, monkeypatch):
    from seatwise.idempotency import middleware

    with uow() as s:
        w = world(s, now=T0)
    client = _client(uow, db_url, w, Clock(T0))
    path, body = f"/v1/organizations/{w.org_id}/subscriptions", {"sku": w.sku, "seats": 3}
    finish = middleware._finish
    # The change committed, then the answer broke on its way out: the middleware saw a 500.
    monkeypatch.setattr(
        middleware, "_finish", lambda state, claim, answer: finish(state, claim=claim, answer={**answer, "status": 500})
    )
    first = client.post(path, json=body, headers={"Idempotency-Key": "buy-3"})
    monkeypatch.undo()
    again = client.post(path, json=body, headers={"Idempotency-Key": "buy-3"})
    assert again.headers.get("idempotent-replayed") == "true" and again.json() == first.json()
    assert _count(uow, Subscription) == 1


def test_api_of_two_runs_of_one_request_alongside_only_the_first_to_commit_keeps_its_change(uow, db_url):
    with uow() as s:
        w = world(s, now=T0)
    fingerprint = idempotency.fingerprint("POST", "/v1/x", b"{}")
    with uow() as s:  # both find nothing under the key: the first is still running when its retry arrives
        slow = idempotency.begin(s, caller="c", key="k", fingerprint=fingerprint, now=T0)
        retry = idempotency.begin(s, caller="c", key="k", fingerprint=fingerprint, now=T0 + timedelta(minutes=2))
    assert isinstance(slow, idempotency.Claim) and isinstance(retry, idempotency.Claim)

    def add_user(claim, email):
        with uow() as s:
            s.add(User(org_id=w.org_id, email=email, name="New", role="user", created_at=T0))
            idempotency.keep(s, claim=claim, status=201, body=b'{"email":"%s"}' % email.encode(), content_type=None)

    add_user(retry, "retry@contoso.example")
    with pytest.raises(Refused) as refused:
        add_user(slow, "slow@contoso.example")
    assert refused.value.code == "idempotency_key_in_use"
    with uow() as s:
        emails = set(s.scalars(select(User.email).where(User.email.like("%@contoso.example"))))
        assert "retry@contoso.example" in emails and "slow@contoso.example" not in emails  # rolled back whole
        idempotency.finish(s, claim=slow, status=409, body=b"", content_type=None)  # the kept answer stays
        replay = idempotency.begin(s, caller="c", key="k", fingerprint=fingerprint, now=T0 + timedelta(minutes=3))
    assert isinstance(replay, idempotency.Replay) and replay.body == b'{"email":"retry@contoso.example"}'


def test_api_a_claim_without_an_answer_left_by_the_previous_release_does_not_block_its_key(uow, db_url):
    """A release that claimed keys before answering left rows without a status: the key works at once."""
    from seatwise.idempotency.models import IdempotentRequest

    with uow() as s:
        w = world(s, now=T0)
    client = _client(uow, db_url, w, Clock(T0 + timedelta(hours=1)))
    path, body = f"/v1/organizations/{w.org_id}/users", {"email": "late@contoso.example"}
    with uow() as s:
        s.add(
            IdempotentRequest(
                caller=idempotency.caller_of(client.headers["Authorization"]),
                key="left-behind",
                fingerprint=idempotency.fingerprint("POST", path, b"{}"),
                created_at=T0,
                status=None,
            )
        )
    first = client.post(path, json=body, headers={"Idempotency-Key": "left-behind"})
    again = client.post(path, json=body, headers={"Idempotency-Key": "left-behind"})
    assert first.status_code == again.status_code == 201, first.text
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()


def test_api_a_replay_shows_a_secret_masked_and_the_table_never_holds_it(uow, db_url):
    from seatwise.idempotency.models import IdempotentRequest

    with uow() as s:
        w = world(s, now=T0)
    client = _client(uow, db_url, w, Clock(T0))
    body = {"url": "http://127.0.0.1:9/hooks"}
    first = client.post("/v1/webhook-endpoints", json=body, headers={"Idempotency-Key": "hook-1"})
    again = client.post("/v1/webhook-endpoints", json=body, headers={"Idempotency-Key": "hook-1"})
    secret = first.json()["secret"]
    assert first.status_code == again.status_code == 201 and secret.startswith("whsec_") and len(secret) > 20
    assert again.json() == {**first.json(), "secret": "whsec_********"}
    with uow() as s:
        assert secret not in s.scalar(select(IdempotentRequest.body))


def test_api_a_revoked_key_gets_401_not_the_answers_it_was_given(uow, db_url):
    with uow() as s:
        w = world(s, now=T0)
    client = _client(uow, db_url, w, Clock(T0))
    body = {"url": "http://127.0.0.1:9/hooks"}
    assert client.post("/v1/webhook-endpoints", json=body, headers={"Idempotency-Key": "h"}).status_code == 201
    with uow() as s:
        key_id = apikeys.list_keys(s)[-1].id
        apikeys.revoke(s, key_id=key_id, now=T0)
    again = client.post("/v1/webhook-endpoints", json=body, headers={"Idempotency-Key": "h"})
    assert (again.status_code, again.json()["code"]) == (401, "unauthenticated")
    assert "secret" not in again.json()
