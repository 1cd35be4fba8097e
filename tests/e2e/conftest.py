"""End-to-end fixtures: the real `seatwise serve` process on a demo database, driven by Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from seatwise import db
from seatwise.clock import parse_instant

NOW = "2026-11-26T09:00:00Z"
CHROMIUM = os.environ.get("SEATWISE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
SEATWISE = [str(Path(sys.executable).parent / "seatwise")]
# Chromium as root, headless, without reaching for Google's services on this closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """The demo data, seeded once with the same clock as the server."""
    from seatwise import demo
    from seatwise.payments.gateways import gateway_for

    path = tmp_path_factory.mktemp("demo") / "seatwise.db"
    url = f"sqlite:///{path}"
    db.upgrade(url)
    demo.seed(url, now=parse_instant(NOW), gateway=gateway_for(url))
    db.engine_for(url).dispose()
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(path: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """`seatwise serve` on a free port, once it answers; another port if a parallel test took this one first.
    Its stderr goes to `log`, which a pipe nobody reads could not take for a whole session."""
    for _ in range(3):
        port = _free_port()  # free now; another xdist worker may still bind it before this server does
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [*SEATWISE, "serve", "--db", f"sqlite:///{path}", "--now", NOW, "--port", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=1) as response:
                    if response.status == 200 and process.poll() is None:
                        return process, base
            except (urllib.error.URLError, ConnectionError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                errors = log.read_text(errors="replace")[-2000:]
                if "address already in use" in errors.lower():
                    break
                pytest.fail(f"seatwise serve did not start: {errors}")
            time.sleep(0.1)
    pytest.fail(f"seatwise serve found no free port: {errors}")


def _restore(template: Path, live: Path) -> None:
    """Make `live` a copy of `template` while a server has it open: SQLite's backup API writes the pages under
    its locks, and the server's connections see the copy from their next transaction on."""
    with sqlite3.connect(template) as src, sqlite3.connect(live, timeout=30) as dst:
        src.backup(dst)
    src.close()
    dst.close()


@pytest.fixture(scope="session")
def live_server(demo_template, tmp_path_factory):
    """One real server process per test session (per xdist worker): its database file and base URL."""
    folder = tmp_path_factory.mktemp("live")
    path, log = folder / "seatwise.db", folder / "serve.log"
    shutil.copy(demo_template, path)
    process, base = _start(path, log)
    yield process, path, base, log
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def server(demo_template, live_server):
    """A real server process on a fresh copy of the demo database; its base URL.

    The process lives for the session (starting one costs seconds); each test gets the demo data anew, so
    no test sees what another changed. Sessions, sign-in attempts, billing runs and webhook leases are all
    rows; the one thing the server keeps in memory is the key it signs cookies with, made on the first copy
    and valid for the session's every cookie."""
    process, path, base, log = live_server
    if process.poll() is not None:
        pytest.fail(
            f"seatwise serve has stopped (exit {process.returncode}): {log.read_text(errors='replace')[-2000:]}"
        )
    _restore(demo_template, path)
    return base


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `make test`, which installs Debian's chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(params=["en", "nl"])
def lang(request) -> str:
    """The admin center's language, chosen by the browser's Accept-Language."""
    return request.param


@pytest.fixture
def page(browser, lang):
    locale = {"en": "en-GB", "nl": "nl-NL"}[lang]
    # The header too, so that requests made with page.request speak the page's language.
    context = browser.new_context(
        locale=locale, extra_http_headers={"Accept-Language": locale}, viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def shoot(page, name: str, lang: str) -> None:
    """Keep a screenshot of the page for docs/screenshots (the README shows them)."""
    from playwright.sync_api import Error

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{lang}.png"), full_page=True)
    except Error:  # a busy Chromium sometimes cannot capture a tall page ("Unable to capture screenshot")
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{lang}.png"), full_page=True)
