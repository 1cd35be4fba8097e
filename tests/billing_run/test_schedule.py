"""R32: the billing run runs by itself. A scheduled pass bills everything due; on SQLite one process makes
a pass at a time, on PostgreSQL several share one; a failing pass is recorded and the loop goes on; `seatwise
worker --once` and `seatwise serve` (the demo of `make run`, left running past a trial's end) bill alone."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from seatwise import db
from seatwise.billing import ledger
from seatwise.billing.models import Invoice, LedgerEntry
from seatwise.billing_run import schedule
from seatwise.billing_run.models import BillingRun, BillingSchedule
from seatwise.catalog import service as catalog
from seatwise.clock import FixedClock
from seatwise.core.money import Money
from seatwise.core.roles import OPERATOR
from seatwise.organizations import service as organizations
from seatwise.payments.gateway import Outcome
from seatwise.payments.simulator import SimulatedGateway, simulator_store
from seatwise.subscriptions import service as subscriptions
from seatwise.subscriptions.models import Subscription
from tests import processes
from tests.conftest import T0
from tests.factories import add_method, world

SEATWISE = Path(sys.executable).parent / "seatwise"
MONTH = T0 + timedelta(days=31)  # past the trial's end and the first renewal (1 December)


def _seatwise(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SEATWISE), *args], capture_output=True, text=True, timeout=timeout)


def _once(url: str, at: datetime) -> dict:
    done = _seatwise("worker", "--once", "--json", "--db", url, "--now", at.isoformat())
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _a_trial_and_a_purchase(uow) -> int:
    """Contoso (a card on file): a trial that converts on 1 December, and two seats bought on 1 November."""
    with uow() as s:
        w = world(s, now=T0, users=0)
        trial = subscriptions.start_trial(s, org_id=w.org_id, sku=w.sku, seats=5, actor=OPERATOR, now=T0)
        subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=2, actor=OPERATOR, now=T0)
        return trial.id


def _counts(url: str) -> tuple[int, int]:
    with db.read_only(url) as s:
        return (
            s.scalar(select(func.count()).select_from(Invoice)),
            s.scalar(select(func.count()).select_from(BillingRun)),
        )


def test_r32_a_pass_bills_everything_due_and_its_row_says_what_it_did_and_when_the_next_is_due(uow, db_url):
    trial_id = _a_trial_and_a_purchase(uow)
    done = schedule.run_pass(db_url, clock=FixedClock(MONTH), every=timedelta(minutes=5))
    assert (done.skipped, done.error, done.summary.subscriptions) == (False, None, 2)
    with db.read_only(db_url) as s:
        assert s.get(Subscription, trial_id).status == "active"  # converted at its end (R2), by nobody's command
        invoices = s.scalar(select(func.count()).select_from(Invoice))
        assert invoices == done.summary.invoices == 2  # 1 November; 1 December (the trial's first period, a renewal)
        assert ledger.check_ledger(s) == []
        row = schedule.last_pass(s)
        assert (row.started_at, row.finished_at, row.next_at) == (MONTH, MONTH, MONTH + timedelta(minutes=5))
        assert (row.subscriptions, row.invoices, row.payments, row.error) == (2, 2, {"succeeded": 2}, None)
        run = s.get(BillingRun, row.run_id)  # a pass that did something is kept with the console's runs
        assert (run.started_by.startswith("schedule:"), run.status, run.invoices) == (True, "done", 2)
    # The next pass finds nothing due: it rewrites the one row and keeps no run.
    quiet = schedule.run_pass(db_url, clock=FixedClock(MONTH + timedelta(minutes=5)))
    assert (quiet.summary.subscriptions, quiet.summary.invoices, quiet.run_id) == (0, 0, None)
    assert _counts(db_url) == (2, 1)
    with db.read_only(db_url) as s:
        assert s.scalar(select(func.count()).select_from(BillingSchedule)) == 1
        assert (schedule.last_pass(s).started_at, schedule.last_pass(s).run_id) == (MONTH + timedelta(minutes=5), None)


class AsksAnotherWorkerWhileCharging(SimulatedGateway):
    """The simulator, which before its first answer lets another process (`seatwise worker --once`) try a pass
    while this one is under way, holding its turn."""

    def __init__(self, url: str, at: datetime) -> None:
        super().__init__(simulator_store(url))
        self.url, self.at, self.other = url, at, None

    def charge(self, *, customer: str, token: str, amount: Money, key: str, metadata: Mapping[str, str]) -> Outcome:
        if self.other is None:
            self.other = _once(self.url, self.at)
        return super().charge(customer=customer, token=token, amount=amount, key=key, metadata=metadata)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_r32_on_sqlite_another_process_skips_its_pass_while_one_is_under_way(uow, db_url):
    _a_trial_and_a_purchase(uow)
    gateway = AsksAnotherWorkerWhileCharging(db_url, MONTH)
    done = schedule.run_pass(db_url, clock=FixedClock(MONTH), gateway=gateway)
    assert gateway.other["billing"]["skipped"] is True and "subscriptions" not in gateway.other["billing"]
    assert (done.skipped, done.summary.subscriptions, done.summary.invoices) == (False, 2, 2)
    # Once the pass is over, the other process's next pass is made, and finds nothing left.
    after = _once(db_url, MONTH)["billing"]
    assert (after["skipped"], after["subscriptions"], after["invoices"]) == (False, 0, 0)


def _book(url: str, orgs: int = 30) -> None:
    """A deterministic book of business: each organisation buys two subscriptions and every third starts a trial,
    on different days of November."""
    with db.unit_of_work(url) as s:
        catalog.add_product(
            s,
            sku="SEAT",
            name="Seat",
            price="12.50",
            currency="EUR",
            interval="monthly",
            trial_days=30,
            max_seats=None,
            policy="standard",
            now=T0,
        )
        for n in range(orgs):
            at = T0 + timedelta(days=n % 9, minutes=n)
            org = organizations.add_org(s, name=f"Org {n}", currency="EUR", locale="en", now=at)
            card = "4000000000000002" if n % 10 == 7 else "4242424242424242"  # some declines: dunning too
            add_method(s, org_id=org.id, card_number=card, expiry="12/30", actor=OPERATOR, now=at)
            for seats in (1 + n % 7, 3):
                subscriptions.buy(s, org_id=org.id, sku="SEAT", seats=seats, actor=OPERATOR, now=at)
            if n % 3 == 0:
                subscriptions.start_trial(s, org_id=org.id, sku="SEAT", seats=4, actor=OPERATOR, now=at)


def _books(url: str) -> dict[str, list]:
    """What a billing run leaves, without what depends on which worker got there first (numbers and ids)."""
    with db.read_only(url) as s:
        invoices = s.scalars(select(Invoice)).all()
        return {
            "invoices": sorted(
                (i.org_id, i.billing_date, i.total, i.amount_due, i.amount_paid, i.status, i.attempts) for i in invoices
            ),
            "numbers": sorted(i.number for i in invoices),
            "subscriptions": sorted(
                s.execute(
                    select(Subscription.id, Subscription.status, Subscription.period_index, Subscription.next_event_at)
                ).all()
            ),
            "ledger": sorted(
                s.execute(
                    select(LedgerEntry.org_id, LedgerEntry.kind, func.sum(LedgerEntry.amount)).group_by(
                        LedgerEntry.org_id, LedgerEntry.kind
                    )
                ).all()
            ),
            "imbalances": ledger.check_ledger(s),
        }


def _charges(store: Path) -> list[tuple]:
    with sqlite3.connect(store) as conn:
        return conn.execute("SELECT key, customer, amount, currency, succeeded FROM charges ORDER BY key").fetchall()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_r32_on_postgresql_two_workers_passing_at_once_end_as_one_pass(db_url, sqlite_template, tmp_path):
    as_of = T0 + timedelta(days=70)  # every subscription's November, December and January
    # One pass by one process, on a SQLite copy of the same book with a gateway of its own.
    alone = f"sqlite:///{tmp_path / 'alone.db'}"
    shutil.copy(sqlite_template, tmp_path / "alone.db")
    _book(alone)
    alone_store = tmp_path / "alone-gateway.sqlite3"
    one = schedule.run_pass(alone, clock=FixedClock(as_of), gateway=SimulatedGateway(alone_store))
    assert one.error is None and one.summary.invoices > 60
    # Two `seatwise worker --once` at the same moment on PostgreSQL.
    _book(db_url)
    command = [str(SEATWISE), "worker", "--once", "--json", "--db", db_url, "--now", as_of.isoformat()]
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in (1, 2)]
    results = [(w.wait(timeout=180), w.stdout.read(), w.stderr.read()) for w in workers]
    assert [code for code, _, _ in results] == [0, 0], results
    passes = [json.loads(out)["billing"] for _, out, _ in results]
    assert [p["skipped"] for p in passes] == [False, False]  # on PostgreSQL nobody waits for a turn
    # Between them they issued each invoice once: no double invoices, numbers without gaps, the same books.
    assert sum(p["invoices"] for p in passes) == one.summary.invoices
    shared, single = _books(db_url), _books(alone)
    assert shared == single and shared["imbalances"] == []
    years = Counter(n.split("-")[1] for n in shared["numbers"])
    assert shared["numbers"] == sorted(f"SW-{y}-{k:06d}" for y, n in years.items() for k in range(1, n + 1))
    # And the gateway was asked for each charge exactly once, as by the single pass.
    assert _charges(simulator_store(db_url)) == _charges(alone_store)
    assert _once(db_url, as_of)["billing"]["subscriptions"] == 0


def test_r32_a_failing_pass_is_recorded_and_the_loop_goes_on(uow, db_url, monkeypatch):
    _a_trial_and_a_purchase(uow)
    monkeypatch.setenv("SEATWISE_GATEWAY", "none-such")  # a misconfigured gateway: every pass fails at once
    running = schedule.start_thread(db_url, clock=FixedClock(MONTH), every=timedelta(seconds=0.2))
    try:

        def last() -> BillingSchedule | None:
            with db.read_only(db_url) as s:
                return schedule.last_pass(s)

        deadline = time.monotonic() + 30
        while (row := last()) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert row is not None and row.error.startswith("SeatwiseError: invalid SEATWISE_GATEWAY 'none-such'")
        assert (row.subscriptions, row.run_id) == (0, None) and _counts(db_url) == (0, 0)
        monkeypatch.delenv("SEATWISE_GATEWAY")  # the operator fixes it; the thread carries on by itself
        while ((row := last()) is None or row.error is not None) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert row.error is None and running.thread.is_alive()
    finally:
        running.close(timeout=30)
    assert not running.thread.is_alive()
    with db.read_only(db_url) as s:
        assert s.scalar(select(func.count()).select_from(Invoice)) == 2
        assert s.scalars(select(BillingRun.status)).all() == ["done"]  # the pass that billed; none for the failures


def test_r32_worker_once_bills_what_is_due_and_delivers_in_one_pass_and_says_so(uow, db_url):
    trial_id = _a_trial_and_a_purchase(uow)
    done = _seatwise("worker", "--once", "--db", db_url, "--now", MONTH.isoformat())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"billing pass up to {MONTH.isoformat()}: 2 subscriptions, 2 invoices, payments: 2 succeeded; "
        # R27, no SMTP server: kept for its Global and Billing admin, the conversion and the two invoices
        "0 delivery attempts; mail: 0 sent, 6 kept"
    )
    with db.read_only(db_url) as s:
        assert s.get(Subscription, trial_id).status == "active"
    again = _once(db_url, MONTH)
    assert (again["billing"]["subscriptions"], again["billing"]["invoices"], again["webhooks"]) == (
        0,
        0,
        {"attempts": 0},
    )


@pytest.mark.parametrize("every", ["0", "5x", "-1", "25h", "soon"])
def test_r32_a_bad_billing_interval_is_one_line_and_exit_2_and_nothing_is_billed(uow, db_url, every):
    _a_trial_and_a_purchase(uow)
    done = _seatwise("worker", "--once", "--db", db_url, "--now", MONTH.isoformat(), "--billing-every", every)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"error: invalid --billing-every {every!r}: expected seconds or a duration such as 30s, 5m or 1h, at most 24h"
    ]
    assert _counts(db_url) == (0, 0)


def test_r32_make_run_left_running_past_a_demo_trials_end_converts_it_without_a_billing_run(db_url):
    """Done when: `make run` with the demo, left running across a trial's end, converts the trial without
    anyone running `billing run` (the time travel is `--now`)."""
    seeded = _seatwise("demo", "seed", "--json", "--db", db_url, "--now", T0.isoformat())
    assert seeded.returncode == 0, seeded.stderr
    contoso = next(o for o in json.loads(seeded.stdout)["organizations"] if o["name"].startswith("Contoso"))
    trial_id = next(s["id"] for s in contoso["subscriptions"] if s["status"] == "trial")
    with db.read_only(db_url) as s:
        trial_end = s.get(Subscription, trial_id).trial_end
    later = trial_end + timedelta(hours=1)
    env = {k: v for k, v in os.environ.items() if k != "SEATWISE_TRUSTED_PROXIES"}
    with processes.serving(db_url, env=env, args=("--now", later.isoformat(), "--billing-every", "1s")) as server:
        assert processes.call(f"{server.base}/health").body["time"] == later.isoformat()
        deadline = time.monotonic() + 60
        while True:
            with db.read_only(db_url) as s:
                sub = s.get(Subscription, trial_id)
                invoiced = s.scalar(
                    select(func.count())
                    .select_from(Invoice)
                    .where(Invoice.org_id == contoso["id"], Invoice.billing_date == trial_end)
                )
            if sub.status == "active" and invoiced:
                break
            assert time.monotonic() < deadline, f"the trial was not converted: {sub.status}, {invoiced} invoices"
            time.sleep(0.2)
    assert sub.current_period_start == trial_end  # R2: the first paid period starts at the trial's end
    with db.read_only(db_url) as s:
        assert ledger.check_ledger(s) == []
        assert schedule.last_pass(s) is not None


def test_r32_serve_with_a_bad_billing_interval_does_not_start(tmp_path):
    url = f"sqlite:///{tmp_path / 'seatwise.db'}"
    done = _seatwise("serve", "--db", url, "--port", str(processes.free_port()), "--billing-every", "0")
    assert (done.returncode, done.stderr.splitlines()[-1]) == (
        2,
        "error: invalid --billing-every '0': expected seconds or a duration such as 30s, 5m or 1h, at most 24h",
    )


def test_r32_the_schedule_runs_in_a_thread_that_stops_when_asked(uow, db_url):
    _a_trial_and_a_purchase(uow)
    running = schedule.start_thread(db_url, clock=FixedClock(MONTH), every=timedelta(minutes=5))
    deadline = time.monotonic() + 30
    while _counts(db_url)[0] < 2 and time.monotonic() < deadline:  # the first pass comes at once
        time.sleep(0.05)
    running.close(timeout=30)
    assert not running.thread.is_alive() and _counts(db_url) == (2, 1)
    assert "seatwise-billing" not in {t.name for t in threading.enumerate()}
