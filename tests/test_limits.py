"""Bounded input (issue 11, item 4): a body over 1 MB is refused with 413 before it is read, a write is
authenticated before any Idempotency-Key work, and a NUL byte, a control character or a text-direction
override is a clear 422 on both databases, never a 500."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from seatwise.app import create_app
from seatwise.clock import FixedClock
from seatwise.idempotency.models import IdempotentRequest
from seatwise.limits import MAX_BODY
from seatwise.organizations.models import User
from tests.api import client_with_key
from tests.conftest import T0
from tests.factories import world


def _setup(uow, db_url) -> tuple[Any, TestClient]:
    with uow() as s:
        w = world(s, now=T0, users=0)
    return w, client_with_key(uow, db_url, org_id=w.org_id, as_user=w.global_admin.user_id)


def _count(uow, model) -> int:
    with uow() as s:
        return s.scalar(select(func.count()).select_from(model))


def _new_user(w, **body) -> tuple[str, dict]:
    return f"/v1/organizations/{w.org_id}/users", {"email": "new@contoso.example", "role": "user", **body}


def test_a_body_over_1_mb_is_refused_with_413_problem_details_and_changes_nothing(uow, db_url):
    w, client = _setup(uow, db_url)
    path, body = _new_user(w, name="x" * (MAX_BODY + 1))
    users = _count(uow, User)
    answer = client.post(path, json=body, headers={"Idempotency-Key": "big-1"})
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "request_too_large"
    assert (_count(uow, User), _count(uow, IdempotentRequest)) == (users, 0)


def test_a_streamed_body_is_cut_off_at_the_limit_with_or_without_an_idempotency_key(uow, db_url):
    w, client = _setup(uow, db_url)
    path, _ = _new_user(w)
    chunk = b" " * 65536
    for headers in ({}, {"Idempotency-Key": "stream-1"}):
        # No Content-Length: the body arrives in chunks and is counted as it is read.
        answer = client.post(
            path,
            content=iter([chunk] * (MAX_BODY // len(chunk) + 2)),
            headers={"content-type": "application/json", **headers},
        )
        assert (answer.status_code, answer.json()["code"]) == (413, "request_too_large")
    assert _count(uow, IdempotentRequest) == 0


def test_a_declared_64_mb_body_is_refused_before_any_of_it_is_read(db_url):
    app = create_app(url=db_url, clock=FixedClock(T0))
    reads, sent = [], []

    async def receive() -> dict:
        reads.append(1)
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/organizations/1/users",
        "raw_path": b"/v1/organizations/1/users",
        "query_string": b"",
        "root_path": "",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
        "app": app,
        "headers": [
            (b"content-length", str(64 * 2**20).encode()),
            (b"idempotency-key", b"k"),
            (b"content-type", b"application/json"),
        ],
    }
    # A loop of its own, in a thread: the test process may already run one.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, app(scope, receive, send)).result(timeout=30)
    assert sent[0]["status"] == 413 and reads == []


def test_a_write_without_a_valid_key_is_refused_401_before_its_idempotency_key_is_looked_at(uow, db_url):
    w, _ = _setup(uow, db_url)
    path, body = _new_user(w)
    client = TestClient(create_app(url=db_url, clock=FixedClock(T0)))
    for headers in ({}, {"Authorization": "Bearer sw_not-a-key"}):
        for key in ("anonymous-1", " "):  # a well-formed key, and one the middleware would refuse as malformed
            answer = client.post(path, json=body, headers={"Idempotency-Key": key, **headers})
            assert (answer.status_code, answer.json()["code"]) == (401, "unauthenticated")
    assert (_count(uow, IdempotentRequest), _count(uow, User)) == (0, 3)


def test_a_nul_byte_anywhere_in_a_request_is_a_422_on_both_databases(uow, db_url):
    w, client = _setup(uow, db_url)
    path, body = _new_user(w)
    users = _count(uow, User)
    for bad in (
        _new_user(w, email="nul\x00@contoso.example")[1],
        _new_user(w, name="Ne\x00ro")[1],
        {**body, "role": "user\x00"},
    ):
        answer = client.post(path, json=bad)
        assert answer.status_code == 422, answer.text
        assert "NUL" in answer.json()["detail"]
    for query in ("/v1/events?type=%00", "/v1/events?type=invoice.paid%00", f"{path}?x=%00"):
        answer = client.get(query)
        assert (answer.status_code, answer.json()["code"]) == (422, "invalid_value"), query
    assert _count(uow, User) == users


def test_names_and_addresses_refuse_control_characters_and_text_direction_overrides(uow, db_url):
    w, client = _setup(uow, db_url)
    path, body = _new_user(w)
    for field, value, code in (
        ("name", "Bob\u202egnp.exe", "invalid_name"),
        ("name", "Bell\x07", "invalid_name"),
        ("name", "Two\u2028lines", "invalid_name"),
        ("email", "eve\u202e@contoso.example", "invalid_email"),
    ):
        answer = client.post(path, json={**body, field: value})
        assert (answer.status_code, answer.json()["code"]) == (422, code), value
        assert "expected plain text" in answer.json()["detail"]
    assert client.post(path, json={**body, "name": "Zoë Ĳsselmeer-Ñúñez"}).status_code == 201  # letters stay letters
