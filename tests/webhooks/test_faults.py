"""Fault test (issue 11, item 8): one organisation's endpoints hang, reset connections and answer slowly, and
another organisation's event still arrives within 5 s, delivered by a real `seatwise worker` process."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from seatwise.core import egress
from seatwise.core.roles import OPERATOR
from seatwise.subscriptions import service as subscriptions
from seatwise.webhooks import service as webhooks
from tests.factories import world

ALLOW = egress.parse_allow("127.0.0.1")


class Hanging:
    """Accepts every connection and never answers."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


class Resetting(Hanging):
    """Accepts every connection and resets it at once."""

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            conn.close()


class Http:
    """Answers 204 after `delay` seconds, and notes when each request arrived."""

    def __init__(self, delay: float = 0.0):
        self.arrived: list[tuple[float, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["content-length"]))
                outer.arrived.append((time.monotonic(), self.headers["webhook-id"]))
                time.sleep(delay)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _wait_for(check, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.02)
    return check()


def test_one_organisations_hanging_resetting_and_slow_endpoints_do_not_delay_another_organisations_event(
    uow, db_url, record_property
):
    hanging, resetting, slow, normal = Hanging(), Resetting(), Http(delay=6.0), Http()
    now = datetime.now(UTC)
    with uow() as s:
        a = world(s, now=now, users=1)
        b = world(s, now=now, users=1, name="Fabrikam", sku="FAB")
        for port, path in ((hanging.port, "hang"), (resetting.port, "reset"), (slow.port, "slow")):
            webhooks.add_endpoint(
                s, org_id=a.org_id, url=f"http://127.0.0.1:{port}/{path}", actor=OPERATOR, now=now, allow=ALLOW
            )
        webhooks.add_endpoint(
            s, org_id=b.org_id, url=f"http://127.0.0.1:{normal.port}/b", actor=OPERATOR, now=now, allow=ALLOW
        )
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "seatwise"), "worker", "--db", db_url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        with uow() as s:  # A's events: every one of its endpoints is now busy with the first
            subscriptions.buy(s, org_id=a.org_id, sku="BIZ", seats=1, actor=OPERATOR, now=now)
            subscriptions.buy(s, org_id=a.org_id, sku="BIZ", seats=2, actor=OPERATOR, now=now)
        assert _wait_for(lambda: hanging.held and resetting.held and slow.arrived, 20), "the worker never started"
        with uow() as s:
            subscriptions.buy(s, org_id=b.org_id, sku="FAB", seats=1, actor=OPERATOR, now=now)
        written = time.monotonic()
        assert _wait_for(lambda: normal.arrived, 10), "B's event never arrived"
        delay = normal.arrived[0][0] - written
        record_property("webhook_delay_seconds", round(delay, 3))
        print(f"\nwebhook delivery delay of the other organisation ({db_url.split(':')[0]}): {delay:.3f} s")
        assert delay < 5.0
        # Meanwhile A's hanging endpoint still holds its connection, and the slow one its first request.
        assert len(slow.arrived) == 1
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for server in (hanging, resetting, slow, normal):
            server.close()
