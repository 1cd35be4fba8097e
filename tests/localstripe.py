"""A real localstripe server (a Stripe-compatible fake) on 127.0.0.1 for the Stripe gateway tests.

localstripe's own command listens on every interface (`::`), so its aiohttp app is started here from Python
on a socket bound to 127.0.0.1, port 0: the child reports the port the kernel gave it, so two sessions never
race for one. It starts empty (its command would load /tmp/localstripe.pickle, which every localstripe process
on the machine writes); tests that count objects flush it first with `flush`.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

TEST_KEY = "sk_test_seatwise"  # localstripe takes any sk_ key

_SERVER = """
import socket, sys
from aiohttp import web
from localstripe.server import app

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
web.run_app(app, sock=sock, access_log=None, print=None)
"""


def _answers(url: str) -> bool:
    request = urllib.request.Request(f"{url}/v1/customers", headers={"Authorization": f"Bearer {TEST_KEY}"})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def localstripe_server(timeout: float = 30) -> Iterator[str]:
    """Start localstripe on 127.0.0.1, wait until it answers, yield its base URL, stop it."""
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.strip().isdigit():
            raise RuntimeError(f"localstripe did not start (exit code {process.poll()})")
        url = f"http://127.0.0.1:{int(line)}"
        deadline = time.monotonic() + timeout
        while not _answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"localstripe at {url} did not answer within {timeout:.0f} s")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def flush(url: str) -> None:
    """Forget every object localstripe holds (DELETE /_config/data)."""
    request = urllib.request.Request(f"{url}/_config/data", method="DELETE")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """The base URL of a localstripe server on 127.0.0.1, one per test session (per xdist worker)."""
    with localstripe_server() as url:
        yield url
