"""`seatwise serve` as a real process for the concurrency and fault tests, and a small HTTP client."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SEATWISE = Path(sys.executable).parent / "seatwise"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Answer:
    status: int
    body: dict
    headers: dict[str, str]


def call(
    url: str,
    *,
    method: str = "GET",
    key: str | None = None,
    body: dict | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> Answer:
    """One request; an HTTP error is an answer too, a refused connection raises."""
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={
            **({"Authorization": f"Bearer {key}"} if key else {}),
            **({"Content-Type": "application/json"} if body is not None else {}),
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw, status, got = response.read(), response.status, response.headers
    except urllib.error.HTTPError as exc:
        raw, status, got = exc.read(), exc.code, exc.headers
    return Answer(status, json.loads(raw) if raw else {}, {k.lower(): v for k, v in got.items()})


@dataclass
class Server:
    process: subprocess.Popen
    base: str

    def kill(self) -> None:
        """SIGKILL the server and every worker process it started: nothing gets to clean up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def start(
    url: str,
    *,
    workers: int = 1,
    port: int | None = None,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = ("--no-worker",),
) -> Server:
    """Start `seatwise serve` (on the system clock, without its worker threads, unless `args` say otherwise)
    and wait until /health answers."""
    port = port or free_port()
    # Its log goes to a file: a pipe nobody reads fills up after a few dozen logged errors (each 503 of a
    # cut database connection is one), and the server then hangs on its next write.
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [str(SEATWISE), "serve", "--db", url, "--port", str(port), "--workers", str(workers), *args],
        stdout=subprocess.DEVNULL,
        stderr=log,
        env={**os.environ, **(env or {})},
        start_new_session=True,  # its own process group, so that kill() reaches the worker processes too
    )
    server = Server(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while True:
        try:
            if call(f"{server.base}/health", timeout=2).status == 200:
                return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.kill() if process.poll() is None else None
            log.seek(0)
            raise RuntimeError(f"seatwise serve did not start: {log.read().decode(errors='replace')[-2000:]}")
        time.sleep(0.2)


@contextmanager
def serving(url: str, **kwargs) -> Iterator[Server]:
    """A running server, stopped (SIGINT, then SIGKILL) at the end."""
    server = start(url, **kwargs)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            os.killpg(server.process.pid, signal.SIGINT)
            try:
                server.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
