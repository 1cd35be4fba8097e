"""Helpers for the operator CLI tests: invoke `seatwise` in-process and snapshot the database."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from seatwise import db
from seatwise.cli import app
from tests.conftest import T0

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)$")
EUR = re.compile(r"^-?\d+\.\d{2}$")
TABLES = {"products", "organizations", "users", "payment_methods", "subscriptions", "assignments", "audit_log"}

SUBSCRIPTION_FIELDS = {
    "id",
    "org_id",
    "sku",
    "status",
    "status_reason",
    "seats",
    "assigned",
    "recurring_billing",
    "trial_end",
    "current_period_start",
    "current_period_end",
    "state_until",
    "currency",
    "unit_price",
}
DECISION_FIELDS = {"allowed", "code", "message", "remedy", "credit", "dates"}


@dataclass
class Result:
    args: list[str]
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None

    @property
    def data(self) -> Any:
        """stdout as exactly one JSON document (fails the test if it is anything else)."""
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"stdout of {self.args} is not one JSON document: {self.stdout!r}") from exc

    def __repr__(self) -> str:
        crash = "" if self.exception is None or isinstance(self.exception, SystemExit) else f"\n{self.exception!r}"
        return f"<{' '.join(self.args)} -> {self.exit_code}\nstdout={self.stdout!r}\nstderr={self.stderr!r}{crash}>"


def _instant(at: datetime | str) -> str:
    return at if isinstance(at, str) else at.isoformat()


class Cli:
    """`cli("org", "add", "--name", "X")` runs `seatwise ... --db URL --now NOW --json` in-process."""

    def __init__(self, url: str, now: datetime | str = T0):
        self.url = url
        self.now = now
        self.runner = CliRunner()

    def __call__(
        self, *args: Any, now: datetime | str | None = None, json_output: bool = True, stdin: str | None = None
    ) -> Result:
        argv = [str(a) for a in args]
        if "--db" not in argv:  # a case may give its own --db or --now (a bad one, say)
            argv += ["--db", self.url]
        if "--now" not in argv:
            argv += ["--now", _instant(now or self.now)]
        if json_output:
            argv.append("--json")
        res = self.runner.invoke(app, argv, input=stdin)
        return Result(argv, res.exit_code, res.stdout, res.stderr, res.exception)

    def ok(self, *args: Any, now: datetime | str | None = None) -> Any:
        """Run a command that must succeed; return its JSON."""
        res = self(*args, now=now)
        assert res.exit_code == 0, res
        assert res.stderr == "", res
        return res.data


@pytest.fixture
def cli(db_url) -> Cli:
    return Cli(db_url)


def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every table (the audit log included), to prove that nothing was written."""
    tables = {t.name: t for t in db.Base.metadata.sorted_tables}
    assert TABLES <= set(tables), sorted(tables)
    with db.read_only(url) as session:
        return {
            name: sorted((tuple(row) for row in session.execute(select(table))), key=repr)
            for name, table in tables.items()
        }


def one_line_error(res: Result) -> str:
    """stderr must be exactly one line, a clear `error: ...` and no traceback."""
    assert "Traceback" not in res.stderr + res.stdout, res
    assert res.exception is None or isinstance(res.exception, SystemExit), res  # in-process: an uncaught error
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res
    assert lines[0].startswith("error: "), res
    assert len(lines[0]) > len("error: ") + 10, res
    return lines[0]
