"""The egress policy at delivery, over real sockets on 127.0.0.1: a refused address gets nothing (loopback
is made forbidden by leaving it out of the allow list), the connection goes to the vetted address with the
name as Host, and redirects are never followed, not even to ftp://."""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from seatwise.core import egress
from seatwise.core.roles import OPERATOR
from seatwise.subscriptions import service as subscriptions
from seatwise.webhooks import service as webhooks
from seatwise.webhooks import worker
from seatwise.webhooks.egress import RESOLVE_SECONDS, TOTAL_SECONDS, Poster
from tests.conftest import T0
from tests.factories import world

LOOPBACK_ALLOWED = egress.parse_allow("127.0.0.1")


class Hits:
    """An HTTP server on 127.0.0.1 that records every request and answers with `reply(path)`."""

    def __init__(self, reply=lambda path: (204, {})):
        self.requests: list[dict] = []
        hits = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                hits.requests.append(
                    {"path": self.path, "body": body, **{k.lower(): v for k, v in self.headers.items()}}
                )
                status, headers = reply(self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Listener:
    """A bare TCP listener on 127.0.0.1 that never accepts: whatever connected is still in its backlog."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]

    def connections(self) -> int:
        self.sock.setblocking(False)
        count = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1

    def close(self):
        self.sock.close()


@pytest.fixture()
def servers():
    made = []

    def make(kind, **kwargs):
        made.append(kind(**kwargs))
        return made[-1]

    yield make
    for s in made:
        s.close()


def _pending_event(uow, url: str, *, allow: egress.Allow) -> int:
    """An organisation with an endpoint at `url` (registered under `allow`) and one event for it."""
    with uow() as s:
        w = world(s, now=T0)
        endpoint = webhooks.add_endpoint(s, org_id=w.org_id, url=url, actor=OPERATOR, now=T0, allow=allow)
        subscriptions.start_trial(s, org_id=w.org_id, sku="BIZ", seats=5, actor=OPERATOR, now=T0)
        return endpoint.id


def _attempts(uow, endpoint_id: int):
    with uow() as s:
        return [(a.status, a.error) for a in webhooks.recent_attempts(s, endpoint_id=endpoint_id)]


class Now:
    def __init__(self, at):
        self.at = at

    def now(self):
        return self.at


def test_a_name_that_resolves_to_loopback_is_refused_at_delivery_and_nothing_is_sent(uow, db_url, servers):
    """DNS rebinding: the name passed registration (names are not resolved then), and at delivery it answers
    127.0.0.1, where a real listener waits; loopback is not allowed, so it gets no connection."""
    listener = servers(Listener)
    endpoint_id = _pending_event(uow, f"https://rebind.example:{listener.port}/hook", allow=egress.NOTHING_ALLOWED)
    rebinding = Poster(allow=egress.NOTHING_ALLOWED, resolver=lambda host, port: ["93.184.216.34", "127.0.0.1"])
    assert worker.run_once(db_url, clock=Now(T0 + timedelta(minutes=1)), send=rebinding) == 1
    assert listener.connections() == 0
    [(status, error)] = _attempts(uow, endpoint_id)
    assert status is None and error.startswith("webhook_url_not_allowed: rebind.example resolves to 127.0.0.1")
    assert "nothing was sent" in error


def test_localhost_and_a_literal_loopback_are_refused_at_delivery_once_the_operator_no_longer_allows_them(
    uow, db_url, servers
):
    hits = servers(Hits)
    urls = [f"http://localhost:{hits.port}/a", f"http://0x7f000001:{hits.port}/b", f"http://127.0.0.1:{hits.port}/c"]
    allow_then = egress.parse_allow("127.0.0.1,localhost")
    with uow() as s:
        w = world(s, now=T0)
        ids = [
            webhooks.add_endpoint(s, org_id=w.org_id, url=url, actor=OPERATOR, now=T0, allow=allow_then).id
            for url in urls
        ]
        subscriptions.start_trial(s, org_id=w.org_id, sku="BIZ", seats=5, actor=OPERATOR, now=T0)
    sent = worker.run_once(db_url, clock=Now(T0 + timedelta(minutes=1)), send=Poster(allow=egress.NOTHING_ALLOWED))
    assert sent == 3 and hits.requests == []
    for endpoint_id in ids:
        [(status, error)] = _attempts(uow, endpoint_id)
        assert status is None and error.startswith("webhook_url_not_allowed"), error


def test_the_connection_goes_to_the_vetted_address_with_the_name_as_host(uow, db_url, servers):
    hits = servers(Hits)
    # Allowed by name, so http is fine too; the resolver is asked once and its answer is what is connected to.
    intranet = egress.parse_allow("hooks.intranet")
    endpoint_id = _pending_event(uow, f"http://hooks.intranet:{hits.port}/hook", allow=intranet)
    poster = Poster(allow=intranet, resolver=lambda host, port: ["127.0.0.1"])
    worker.run_once(db_url, clock=Now(T0 + timedelta(minutes=1)), send=poster)
    [request] = hits.requests
    assert request["host"] == f"hooks.intranet:{hits.port}" and request["path"] == "/hook"
    assert request["webhook-id"].startswith("evt_")
    assert _attempts(uow, endpoint_id)[0][0] == 204


def test_a_redirect_is_a_failed_attempt_and_its_target_gets_nothing(uow, db_url, servers):
    target = servers(Hits)
    redirecting = servers(Hits, reply=lambda path: (302, {"location": f"http://127.0.0.1:{target.port}/stolen"}))
    endpoint_id = _pending_event(uow, f"http://127.0.0.1:{redirecting.port}/hook", allow=LOOPBACK_ALLOWED)
    worker.run_once(db_url, clock=Now(T0 + timedelta(minutes=1)), send=Poster(allow=LOOPBACK_ALLOWED))
    assert len(redirecting.requests) == 1 and target.requests == []
    [(status, error)] = _attempts(uow, endpoint_id)
    assert status == 302 and "redirects are not followed" in error
    with uow() as s:
        [delivery] = webhooks.deliveries(s, endpoint_id=endpoint_id)
        assert delivery.status == "pending" and delivery.attempts == 1  # retried later, like any failure


def test_a_redirect_to_ftp_opens_no_connection(uow, db_url, servers):
    ftp = servers(Listener)
    redirecting = servers(Hits, reply=lambda path: (302, {"location": f"ftp://127.0.0.1:{ftp.port}/"}))
    endpoint_id = _pending_event(uow, f"http://127.0.0.1:{redirecting.port}/hook", allow=LOOPBACK_ALLOWED)
    worker.run_once(db_url, clock=Now(T0 + timedelta(minutes=1)), send=Poster(allow=LOOPBACK_ALLOWED))
    assert len(redirecting.requests) == 1 and ftp.connections() == 0
    assert _attempts(uow, endpoint_id)[0][0] == 302


def test_the_default_sender_follows_seatwise_webhook_allow(uow, db_url, servers, monkeypatch):
    """`seatwise worker` uses SEATWISE_WEBHOOK_ALLOW: without 127.0.0.1 in it, a registered receiver gets nothing."""
    hits = servers(Hits)
    endpoint_id = _pending_event(uow, f"http://127.0.0.1:{hits.port}/hook", allow=LOOPBACK_ALLOWED)
    monkeypatch.setenv("SEATWISE_WEBHOOK_ALLOW", "10.0.0.0/8")
    worker.run_once(db_url, clock=Now(T0 + timedelta(minutes=1)))
    assert hits.requests == [] and _attempts(uow, endpoint_id)[0][1].startswith("webhook_url_not_allowed")
    monkeypatch.setenv("SEATWISE_WEBHOOK_ALLOW", "127.0.0.1")
    worker.run_once(db_url, clock=Now(T0 + timedelta(minutes=2)))
    assert len(hits.requests) == 1


def test_a_resolver_that_does_not_answer_ends_the_attempt_within_its_deadline_and_nothing_is_sent(servers):
    """getaddrinfo has no timeout of its own: a slow resolver must not hold the attempt past its lease."""
    listener = servers(Listener)
    answered = threading.Event()

    def slow(host, port):
        answered.wait(RESOLVE_SECONDS + 5)  # then it answers the listener's address, too late
        return ["127.0.0.1"]

    poster = Poster(allow=egress.parse_allow("slow.example"), resolver=slow)
    began = time.monotonic()
    answer = poster(f"http://slow.example:{listener.port}/hook", b"{}", {})
    took = time.monotonic() - began
    answered.set()
    assert answer.status is None and "slow.example does not resolve: no answer" in answer.error
    assert RESOLVE_SECONDS <= took < TOTAL_SECONDS and listener.connections() == 0
