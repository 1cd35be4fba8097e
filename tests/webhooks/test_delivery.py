"""Webhooks: a receiver on 127.0.0.1 checks every Standard Webhooks signature, fails some deliveries on
purpose, and still sees every event once (by webhook-id) and in order per organisation."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from seatwise.core.roles import OPERATOR
from seatwise.events import service as events
from seatwise.licenses import service as licenses
from seatwise.subscriptions import service as subscriptions
from seatwise.webhooks import service as webhooks
from seatwise.webhooks import worker
from seatwise.webhooks.egress import post
from seatwise.webhooks.models import WebhookEndpoint
from tests.conftest import T0
from tests.factories import run_billing, world
from tests.webhooks.test_egress import Hits


class Clock:
    """A clock the test moves on, so that retries fall due."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at


class Receiver:
    """An HTTP endpoint that verifies signatures with the `standardwebhooks` library and answers 500 to
    the first attempt of whichever messages `fail` picks (after having seen them: at-least-once)."""

    def __init__(self, *, fail=lambda message_id, attempt: False):
        self.secrets: dict[str, str] = {}  # path -> secret
        self.clock: Clock | None = None
        self.seen: dict[str, list[dict]] = defaultdict(list)  # path -> bodies in arrival order
        self.accepted: dict[str, list[dict]] = defaultdict(list)  # path -> bodies answered 2xx, in order
        self.attempts: dict[tuple[str, str], int] = defaultdict(int)
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.handle(self.path, body, {k.lower(): v for k, v in self.headers.items()}, self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.fail = fail
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def handle(self, path: str, body: bytes, headers: dict, reply) -> None:
        message_id, timestamp = headers["webhook-id"], int(headers["webhook-timestamp"])
        expected = Webhook(self.secrets[path]).sign(message_id, datetime.fromtimestamp(timestamp, UTC), body.decode())
        if expected not in headers["webhook-signature"].split(" ") or timestamp != int(self.clock.now().timestamp()):
            self.bad_signatures += 1
            reply.send_response(400)
            reply.end_headers()
            return
        self.attempts[path, message_id] += 1
        self.seen[path].append(json.loads(body))
        status = 500 if self.fail(message_id, self.attempts[path, message_id]) else 204
        if status == 204:
            self.accepted[path].append(json.loads(body))
        reply.send_response(status)
        reply.end_headers()

    def unique(self, path: str) -> list[dict]:
        """What the receiver keeps: each webhook-id once, in arrival order."""
        kept = {}
        for body in self.seen[path]:
            kept.setdefault(body["id"], body)
        return list(kept.values())


@pytest.fixture()
def receiver():
    made = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.server.shutdown()
        r.server.server_close()


def _endpoint(uow, receiver: Receiver, path: str, *, org_id: int | None) -> int:
    with uow() as s:
        endpoint = webhooks.add_endpoint(s, org_id=org_id, url=receiver.url(path), actor=OPERATOR, now=T0)
        receiver.secrets[path] = endpoint.secret
        return endpoint.id


def _org_listened_to(uow, receiver: Receiver):
    """An organisation whose events go to the receiver's /hook."""
    with uow() as s:
        w = world(s, now=T0)
    _endpoint(uow, receiver, "/hook", org_id=w.org_id)
    return w


def _a_month_of_changes(uow, w, *, sku: str) -> None:
    """Trial, licences, assignments, a purchase, a licence change, a cancellation and a billing run."""
    with uow() as s:
        trial = subscriptions.start_trial(s, org_id=w.org_id, sku=sku, seats=5, actor=OPERATOR, now=T0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=sku, seats=3, actor=OPERATOR, now=T0)
        s.flush()
        for user_id in w.user_ids[:3]:
            licenses.assign(s, sub_id=sub.id, user_id=user_id, actor=OPERATOR, now=T0)
        licenses.unassign(s, sub_id=sub.id, user_id=w.user_ids[0], actor=OPERATOR, now=T0)
        licenses.assign(s, sub_id=trial.id, user_id=w.user_ids[4], actor=OPERATOR, now=T0)
    day = T0 + timedelta(days=3)
    with uow() as s:
        licenses.set_total(s, sub_id=sub.id, total=5, actor=OPERATOR, now=day)
        subscriptions.cancel(s, sub_id=sub.id, actor=OPERATOR, now=day, reason=None, comment=None)
    run_billing(uow, as_of=T0 + timedelta(days=40))


def _deliver_all(url: str, clock: Clock, *, step: timedelta = timedelta(seconds=5), rounds: int = 50) -> None:
    for _ in range(rounds):
        worker.run_once(url, clock=clock)
        clock.at += step


def _stored_events(uow, org_id: int | None = None) -> list[dict]:
    with uow() as s:
        return [webhooks.payload(e) for e in events.list_events(s, org_id=org_id, after=None, limit=10_000)]


def test_webhooks_signed_retried_and_in_order_with_every_event_once(uow, db_url, receiver):
    r = receiver(fail=lambda message_id, attempt: attempt == 1 and int(message_id.removeprefix("evt_")) % 3 == 0)
    with uow() as s:
        contoso = world(s, now=T0)
        fabrikam = world(s, now=T0, name="Fabrikam", sku="FAB")
    _endpoint(uow, r, "/contoso", org_id=contoso.org_id)
    _endpoint(uow, r, "/everyone", org_id=None)
    _a_month_of_changes(uow, contoso, sku="BIZ")
    _a_month_of_changes(uow, fabrikam, sku="FAB")
    r.clock = clock = Clock(T0 + timedelta(days=41))
    _deliver_all(db_url, clock)

    stored_contoso, stored_all = _stored_events(uow, contoso.org_id), _stored_events(uow)
    types = [e["type"] for e in stored_contoso]
    for expected in (
        "subscription.trial_started",
        "subscription.started",
        "license.assigned",
        "license.unassigned",
        "licenses.changed",
        "credit.issued",
        "subscription.canceled",
        "subscription.converted",
        "invoice.issued",
        "invoice.paid",
        "credit.settled",
    ):
        assert expected in types, expected
    assert r.bad_signatures == 0
    # Some first attempts failed, and were sent again with the same webhook-id …
    assert len(r.seen["/contoso"]) > len(stored_contoso)
    # … yet, kept once per webhook-id, the receiver has exactly the stored events, accepted in order.
    assert r.unique("/contoso") == r.accepted["/contoso"] == json.loads(json.dumps(stored_contoso))
    everyone = r.accepted["/everyone"]
    assert (
        sorted(e["id"] for e in r.unique("/everyone"))
        == sorted(e["id"] for e in everyone)
        == [e["id"] for e in stored_all]
    )
    for org_id in (contoso.org_id, fabrikam.org_id):
        assert [e["id"] for e in everyone if e["org_id"] == org_id] == [
            e["id"] for e in stored_all if e["org_id"] == org_id
        ]


def test_webhooks_back_off_then_give_up_and_the_next_event_goes_on(uow, db_url, receiver):
    first: list[str] = []
    r = receiver(fail=lambda message_id, attempt: message_id == first[0])  # the first event always fails
    with uow() as s:
        w = world(s, now=T0)
    endpoint_id = _endpoint(uow, r, "/hook", org_id=w.org_id)
    with uow() as s:
        subscriptions.start_trial(s, org_id=w.org_id, sku="BIZ", seats=5, actor=OPERATOR, now=T0)
        subscriptions.buy(s, org_id=w.org_id, sku="BIZ", seats=3, actor=OPERATOR, now=T0)
    one, two = (e["id"] for e in _stored_events(uow))
    first.append(f"evt_{one}")
    r.clock = clock = Clock(T0 + timedelta(hours=1))
    worker.run_once(db_url, clock=clock)
    attempts_at = [clock.now()]
    # While the first waits for its retry, the organisation's next event waits behind it.
    assert [b["id"] for b in r.seen["/hook"]] == [one]
    for wait in webhooks.RETRY_AFTER:
        clock.at += wait - timedelta(seconds=1)
        worker.run_once(db_url, clock=clock)
        assert len(r.seen["/hook"]) == len(attempts_at), "retried before its backoff"
        clock.at += timedelta(seconds=1)
        worker.run_once(db_url, clock=clock)
        attempts_at.append(clock.now())
    # 1 + 7 attempts, spaced as RETRY_AFTER says; then given up. The last came more than a day after the
    # first failure, so the endpoint was disabled too; its owner enables it, and the next event goes on.
    assert [b["id"] for b in r.seen["/hook"]] == [one] * (1 + len(webhooks.RETRY_AFTER))
    with uow() as s:
        disabled = s.get(WebhookEndpoint, endpoint_id)
        assert not disabled.enabled and "failing since" in disabled.disabled_reason
        webhooks.set_enabled(s, endpoint_id=endpoint_id, enabled=True, actor=OPERATOR, now=clock.now())
    worker.run_once(db_url, clock=clock)
    assert [b["id"] for b in r.seen["/hook"]] == [one] * (1 + len(webhooks.RETRY_AFTER)) + [two]
    with uow() as s:
        states = [(d.event_id, d.status, d.attempts) for d in webhooks.deliveries(s, endpoint_id=endpoint_id)]
    assert states == [(one, "failed", 8), (two, "delivered", 1)]


def test_webhooks_a_rolled_back_change_sends_nothing(uow, db_url, receiver):
    r = receiver()
    w = _org_listened_to(uow, r)
    with pytest.raises(RuntimeError), uow() as s:
        subscriptions.start_trial(s, org_id=w.org_id, sku="BIZ", seats=5, actor=OPERATOR, now=T0)
        raise RuntimeError("the request fails after the change")
    r.clock = Clock(T0 + timedelta(hours=1))
    worker.run_once(db_url, clock=r.clock)
    assert _stored_events(uow) == [] and r.seen == {}


def test_webhooks_the_worker_process_delivers(uow, db_url, receiver):
    r = receiver()
    w = _org_listened_to(uow, r)
    with uow() as s:
        subscriptions.start_trial(s, org_id=w.org_id, sku="BIZ", seats=5, actor=OPERATOR, now=T0)
    now = T0 + timedelta(hours=1)
    r.clock = Clock(now)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "seatwise"), "worker", "--once", "--db", db_url, "--now", now.isoformat()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert [b["type"] for b in r.seen["/hook"]] == ["subscription.trial_started"]


def test_webhooks_a_claimed_attempt_is_sent_once_and_again_only_if_its_worker_died(uow, db_url, receiver):
    r = receiver()
    w = _org_listened_to(uow, r)
    with uow() as s:
        subscriptions.start_trial(s, org_id=w.org_id, sku="BIZ", seats=5, actor=OPERATOR, now=T0)
        subscriptions.buy(s, org_id=w.org_id, sku="BIZ", seats=3, actor=OPERATOR, now=T0)
    now = T0 + timedelta(hours=1)
    with uow() as s:
        webhooks.queue(s, now=now)
        claimed = webhooks.claim(s, now=now)  # then this worker dies before sending
    # Meanwhile no other worker sends it, nor the organisation's next event ahead of it.
    r.clock = Clock(now + webhooks.LEASE - timedelta(seconds=1))
    worker.run_once(db_url, clock=r.clock)
    assert r.seen == {}
    r.clock = Clock(now + webhooks.LEASE)
    worker.run_once(db_url, clock=r.clock)
    assert [b["type"] for b in r.accepted["/hook"]] == ["subscription.trial_started", "subscription.started"]
    assert r.accepted["/hook"][0]["id"] == int(claimed.headers["webhook-id"].removeprefix("evt_"))


def test_webhooks_three_organisations_with_hanging_endpoints_leave_threads_for_a_fourths_event(uow, db_url):
    """Each of three organisations has three endpoints that never answer (until the test lets them): they
    hold at most two threads each, and the last two threads wait for an organisation with nothing running."""
    release = threading.Event()
    hanging = Hits(reply=lambda path: (release.wait(30), (204, {}))[1])
    calm = Hits()
    orgs = []
    with uow() as s:
        for n in range(4):
            w = world(s, now=T0, users=1, name=f"Org{n}", sku=f"SKU{n}")
            hits, paths = (calm, ["/calm"]) if n == 3 else (hanging, [f"/{n}/a", f"/{n}/b", f"/{n}/c"])
            for path in paths:
                url = f"http://127.0.0.1:{hits.port}{path}"
                webhooks.add_endpoint(s, org_id=w.org_id, url=url, actor=OPERATOR, now=T0)
            orgs.append(w)
    with uow() as s:
        for w in orgs:  # the calm organisation's event comes last, behind nine hanging attempts
            subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=1, actor=OPERATOR, now=T0)
    clock = Clock(T0 + timedelta(minutes=1))
    try:
        with ThreadPoolExecutor(worker.THREADS) as pool:
            dispatcher = worker.Dispatcher(db_url, clock=clock, send=post, pool=pool, threads=worker.THREADS)
            dispatcher.queue()
            dispatcher.start(worker.THREADS)
            per_org = Counter(c.org_id for c in dispatcher.running.values())
            release.set()
            while dispatcher.running:
                dispatcher.reap(None)
        assert per_org[orgs[3].org_id] == 1, per_org
        assert all(per_org[w.org_id] == worker.PER_ORG for w in orgs[:3]), per_org
        assert [r["path"] for r in calm.requests] == ["/calm"]
    finally:
        release.set()
        hanging.close()
        calm.close()
