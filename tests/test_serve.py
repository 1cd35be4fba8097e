"""`seatwise serve` as a real process: several server processes share one database and one clock."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from fastapi.testclient import TestClient

from seatwise import db
from seatwise.apikeys import service as apikeys
from seatwise.clock import FixedClock
from tests.conftest import T0
from tests.factories import world

SEATWISE = Path(sys.executable).parent / "seatwise"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, key: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_serve_with_two_worker_processes_answers_with_the_database_and_clock_given(tmp_path):
    url = f"sqlite:///{tmp_path / 'seatwise.db'}"
    db.upgrade(url)
    with db.unit_of_work(url) as s:
        w = world(s, now=T0)
        _, key = apikeys.create(s, operator=False, org_id=w.org_id, as_user=w.global_admin.user_id, now=T0)
    port = _free_port()
    process = subprocess.Popen(
        [
            str(SEATWISE),
            "serve",
            "--db",
            url,
            "--now",
            T0.isoformat(),
            "--port",
            str(port),
            "--workers",
            "2",
            "--no-worker",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, health = _get(f"{base}/health")
                break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None and time.monotonic() < deadline, process.stderr.read().decode()
                time.sleep(0.2)
        assert (status, health["time"]) == (200, T0.isoformat())
        answers = [_get(f"{base}/v1/organizations/{w.org_id}", key) for _ in range(10)]
        assert {(status, body["name"]) for status, body in answers} == {(200, "Contoso")}
        assert _get(f"{base}/v1/organizations/{w.org_id}", "sw_wrong")[0] == 401
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def test_pages_and_api_answers_may_not_be_framed(uow, db_url):
    from seatwise.app import create_app

    with uow() as s:
        w = world(s, now=T0)
        _, key = apikeys.create(s, operator=False, org_id=w.org_id, as_user=w.global_admin.user_id, now=T0)
    client = TestClient(create_app(url=db_url, clock=FixedClock(T0)))
    for response in (
        client.get("/"),
        client.get("/v1/products", headers={"Authorization": f"Bearer {key}"}),
        client.get("/v1/products"),
        client.get("/no-such-page"),
    ):
        assert response.headers["x-frame-options"] == "DENY", response.url
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
