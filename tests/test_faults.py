"""Faults with real processes: `seatwise serve` killed while clients write, PostgreSQL connections cut."""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select, text

from seatwise import db
from seatwise.apikeys import service as apikeys
from seatwise.billing.ledger import check_ledger
from seatwise.licenses import service as licenses
from seatwise.subscriptions import service as subscriptions
from seatwise.subscriptions.models import Subscription
from tests.conftest import T0
from tests.factories import world
from tests.processes import call, serving, start

pytestmark = pytest.mark.xdist_group("processes")

CLIENTS = 8
CUT = (OSError, http.client.HTTPException)  # the connection refused, reset or closed without an answer


@dataclass
class Request:
    key: str
    method: str
    path: str
    body: dict | None
    first: object = None  # the Answer, or the exception that cut it off
    later: object = None  # the answer to the same request retried after the restart


@dataclass
class Client:
    """One admin's script: buy a subscription, then change its licences and assign and free seats."""

    number: int
    org_id: int
    sku: str
    users: list[int]
    requests: list[Request] = field(default_factory=list)

    def purchase(self) -> Request:
        path = f"/v1/organizations/{self.org_id}/subscriptions"
        return Request(f"c{self.number}-buy", "POST", path, {"sku": self.sku, "seats": 3})

    def follow_up(self, sub_id: int, n: int) -> Request:
        user = self.users[n % 3]
        if n % 3 == 0:
            return Request(
                f"c{self.number}-lic-{n}", "PUT", f"/v1/subscriptions/{sub_id}/licenses", {"total": 3 + n % 5}
            )
        if (n // 3) % 2 == 0:
            return Request(
                f"c{self.number}-as-{n}", "POST", f"/v1/subscriptions/{sub_id}/assignments", {"user_id": user}
            )
        return Request(f"c{self.number}-un-{n}", "DELETE", f"/v1/subscriptions/{sub_id}/assignments/{user}", None)


def _send(base: str, key: str, request: Request):
    try:
        return call(
            base + request.path,
            method=request.method,
            key=key,
            body=request.body,
            headers={"Idempotency-Key": request.key},
            timeout=15,
        )
    except CUT as exc:
        return exc


def _drive(base: str, key: str, client: Client, stop: threading.Event) -> None:
    """Send the script until the server dies under it; the first answer of each request is recorded."""
    buy = client.purchase()
    client.requests.append(buy)
    buy.first = _send(base, key, buy)
    if isinstance(buy.first, BaseException):
        return
    sub_id = buy.first.body["id"]
    n = 1
    while not stop.is_set():
        request = client.follow_up(sub_id, n)
        client.requests.append(request)
        request.first = _send(base, key, request)
        if isinstance(request.first, BaseException):
            return
        n += 1


def test_serve_killed_while_eight_clients_write_loses_no_acknowledged_write_and_runs_no_retry_twice(
    uow, db_url, tmp_path
):
    with uow() as s:
        w = world(s, now=T0, users=CLIENTS * 3)
        _, key = apikeys.create(s, operator=False, org_id=w.org_id, as_user=w.global_admin.user_id, now=T0)
    clients = [Client(i, w.org_id, w.sku, w.user_ids[i * 3 : i * 3 + 3]) for i in range(CLIENTS)]
    server = start(db_url, workers=2)
    stop = threading.Event()
    threads = [threading.Thread(target=_drive, args=(server.base, key, c, stop)) for c in clients]
    for thread in threads:
        thread.start()
    time.sleep(3)
    server.kill()  # SIGKILL to the whole process group: mid-request, mid-transaction
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    sent = [r for c in clients for r in c.requests]
    acknowledged = [r for r in sent if not isinstance(r.first, BaseException) and 200 <= r.first.status < 300]
    refused = [r for r in sent if not isinstance(r.first, BaseException) and r.first.status >= 300]
    assert refused == [], [(r.key, r.first.status, r.first.body) for r in refused]
    assert len(acknowledged) > 5 * CLIENTS, "the clients barely wrote before the kill"

    with serving(db_url, workers=2) as again:  # every request again, with its key: a client retrying all
        for request in sent:
            request.later = _send(again.base, key, request)
    replayed = [r for r in sent if r.later.headers.get("idempotent-replayed") == "true"]
    ran_now = [r for r in sent if r.later.headers.get("idempotent-replayed") != "true"]
    for request in sent:
        assert 200 <= request.later.status < 300, (request.key, request.later.status, request.later.body)
    for request in acknowledged:  # an acknowledged write is kept, and a retry gets the same answer
        assert request in replayed and request.later.body == request.first.body, request.key
    assert len(ran_now) <= CLIENTS  # at most the one request per client that the kill cut off

    with db.read_only(db_url) as s:
        subs = {sub.id: sub for sub in s.scalars(select(Subscription))}
        assert len(subs) == CLIENTS  # each purchase made exactly once
        for client in clients:
            sub_id = client.requests[0].later.body["id"]
            totals = [r.body["total"] for r in client.requests if r.method == "PUT"]
            assert subs[sub_id].seats == (totals[-1] if totals else 3), client.number
            held = set()
            for r in client.requests[1:]:
                if r.method == "POST":
                    held.add(r.body["user_id"])
                elif r.method == "DELETE":
                    held.discard(int(r.path.rsplit("/", 1)[1]))
            assert {a.user_id for a in licenses.assignments_of(s, sub_id=sub_id)} == held, client.number
        assert check_ledger(s) == []
    print(
        f"\nSIGKILL under {CLIENTS} clients: {len(sent)} sent, {len(acknowledged)} acknowledged and all found "
        f"after restart, {len(replayed)} replayed on retry, {len(ran_now)} cut off and run once on retry"
    )


def _await_backends(admin, database: str) -> None:
    """Wait (a few seconds at most) until the server has reconnected, so that a cut has something to end."""
    for _ in range(100):
        others = admin.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"),
            {"db": database},
        ).scalar()
        if others:
            return
        time.sleep(0.05)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_connections_cut_under_load_answer_503_problems_and_the_server_recovers_alone(uow, db_url):
    with uow() as s:
        w = world(s, now=T0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=3, actor=w.global_admin, now=T0)
        s.flush()
        _, key = apikeys.create(s, operator=False, org_id=w.org_id, as_user=w.global_admin.user_id, now=T0)
    database = db.engine_for(db_url).url.database
    answers: list[tuple[float, int, str]] = []
    stop = threading.Event()

    def load(server_base: str, n: int) -> None:
        while not stop.is_set():
            path = f"/v1/subscriptions/{sub.id}" if n % 2 else f"/v1/subscriptions/{sub.id}/licenses"
            try:
                a = call(
                    server_base + path, method="GET" if n % 2 else "PUT", key=key, body=None if n % 2 else {"total": 4}
                )
            except CUT as exc:
                answers.append((time.monotonic(), 0, type(exc).__name__))
                continue
            answers.append(
                (time.monotonic(), a.status, a.headers.get("content-type", "") + " " + str(a.body.get("code")))
            )

    with serving(db_url, workers=1) as server:
        threads = [threading.Thread(target=load, args=(server.base, n)) for n in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        cuts: list[list[bool]] = []
        # Autocommit: inside one transaction pg_stat_activity is a snapshot, and later cuts would aim at the
        # backends the first one already ended.
        with db.engine_for(db_url).connect().execution_options(isolation_level="AUTOCOMMIT") as admin:
            for _ in range(5):  # cut every connection of the server, five times over a second or so
                _await_backends(admin, database)
                cuts.append(
                    list(
                        admin.execute(
                            text(
                                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = :db AND pid <> pg_backend_pid()"
                            ),
                            {"db": database},
                        ).scalars()
                    )
                )
                time.sleep(0.2)
            cut_at = time.monotonic()
        time.sleep(3)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert all(cut and all(cut) for cut in cuts), cuts  # each cut ended at least one of the server's backends
    failures = [a for a in answers if a[1] >= 500 or a[1] == 0]
    assert all(status == 503 and "application/problem+json" in what for _, status, what in failures), failures
    assert {what.split()[-1] for _, status, what in failures} <= {"database_unavailable"}
    after = [a for a in answers if a[0] > cut_at + 1]
    assert after and all(status == 200 for _, status, _ in after), after[-5:]
    last_failure = max((t for t, _, _ in failures), default=cut_at)
    recovered = min((t for t, status, _ in answers if t > last_failure and status == 200), default=None)
    assert recovered is not None
    with db.read_only(db_url) as s:
        assert s.scalar(select(func.count()).select_from(Subscription)) == 1
    print(
        f"\nPostgreSQL cut 5 times ({sum(map(len, cuts))} backends ended): {len(answers)} answers, "
        f"{len(failures)} were 503, "
        f"the first 200 came {recovered - last_failure:.3f} s after the last of them"
    )
