"""The installed `seatwise` script in a real process: exit codes and stderr end to end (issue 2 §4)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from seatwise import db
from tests.cli.conftest import Cli
from tests.cli.helpers import T0

SEATWISE = Path(sys.executable).parent / "seatwise"


def run(*args: str) -> subprocess.CompletedProcess:
    assert SEATWISE.exists(), f"{SEATWISE} is not installed"
    return subprocess.run([str(SEATWISE), *map(str, args)], capture_output=True, text=True, timeout=60)


def assert_one_error_line(proc: subprocess.CompletedProcess, starts: str) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout, proc
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc
    assert lines[0].startswith(starts), proc


@pytest.fixture
def sqlite_file(tmp_path, sqlite_template) -> str:
    path = tmp_path / "seatwise.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    cli = Cli(url)  # set up in-process, check through the real script
    cli.ok("product", "add", "--sku", "BIZ", "--name", "Business", "--price", "12.50")
    cli.ok("org", "add", "--name", "Contoso")
    cli.ok("subscription", "trial", "--org", 1, "--sku", "BIZ")
    db.engine_for(url).dispose()
    return url


def test_script_exit_0_json_on_stdout_nothing_on_stderr(sqlite_file):
    proc = run("subscription", "show", 1, "--db", sqlite_file, "--now", T0, "--json")
    assert (proc.returncode, proc.stderr) == (0, ""), proc
    sub = json.loads(proc.stdout)
    assert (sub["id"], sub["status"], sub["seats"], sub["unit_price"]) == (1, "trial", 25, "12.50")


def test_script_exit_2_unknown_currency_one_line_on_stderr(sqlite_file):
    proc = run("org", "add", "--name", "Acme", "--currency", "XYZ", "--db", sqlite_file, "--now", T0)
    assert (proc.returncode, proc.stdout) == (2, ""), proc
    assert_one_error_line(proc, "error: unknown currency 'XYZ'")


def test_script_exit_2_usage_error_one_line_on_stderr(sqlite_file):
    proc = run("subscription", "show", "abc", "--db", sqlite_file, "--now", T0)
    assert (proc.returncode, proc.stdout) == (2, ""), proc
    assert_one_error_line(proc, "error: Invalid value for 'SUB'")


def test_script_exit_2_malformed_now(sqlite_file):
    proc = run("billing", "run", "--db", sqlite_file, "--now", "yesterday")
    assert (proc.returncode, proc.stdout) == (2, ""), proc
    assert_one_error_line(proc, "error: invalid --now 'yesterday'")


def test_script_exit_3_refusal_prints_the_decision(sqlite_file):
    proc = run("subscription", "cancel", 1, "--as", "operator", "--db", sqlite_file, "--now", T0, "--json")
    assert proc.returncode == 3, proc
    decision = json.loads(proc.stdout)
    assert (decision["allowed"], decision["code"]) == (False, "trial_nothing_to_cancel")
    assert_one_error_line(proc, "error: cancellation refused: trial_nothing_to_cancel")


def test_script_exit_1_database_without_schema(tmp_path):
    proc = run("org", "list", "--db", f"sqlite:///{tmp_path / 'empty.db'}", "--now", T0)
    assert (proc.returncode, proc.stdout) == (1, ""), proc
    assert_one_error_line(proc, "error: the database has no Seatwise schema yet")


def test_invalid_threshold_setting_is_one_line_and_exit_1(tmp_path):
    """A bad SEATWISE_CANCEL_THRESHOLD is a configuration error: one line, not a traceback."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from typer.testing import CliRunner

    from seatwise.cli import app

    url = f"sqlite:///{tmp_path / 'x.db'}"
    seatwise = str(Path(sys.executable).with_name("seatwise"))
    env = {**os.environ, "SEATWISE_CANCEL_THRESHOLD": "abc"}
    runner = CliRunner()  # set up in-process with the same commands, check through the real script
    for cmd in (
        ["db", "upgrade", "--db", url],
        ["org", "add", "--name", "A", "--db", url],
        ["product", "add", "--sku", "S", "--name", "S", "--price", "1", "--db", url],
        ["org", "add", "--name", "B", "--db", url],
        ["user", "add", "--org", "1", "--email", "a@b.example", "--role", "global_admin", "--db", url],
        ["payment-method", "add", "--org", "1", "--invoice", "--db", url],
        ["subscription", "buy", "--org", "1", "--sku", "S", "--seats", "1", "--db", url],
    ):
        done = runner.invoke(app, cmd)
        assert done.exit_code == 0, (cmd, done.output, done.exception)
    db.engine_for(url).dispose()
    done = subprocess.run(
        [seatwise, "subscription", "cancel-preview", "1", "--as", "1", "--db", url],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: invalid SEATWISE_CANCEL_THRESHOLD 'abc': expected a whole number of 1 or more"
    ]
