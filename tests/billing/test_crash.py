"""R20 with real processes and real SIGKILLs: a killed billing run, run again, ends as an uninterrupted one.

One dataset (200 organisations, about 600 monthly subscriptions in EUR and JPY, trials that
convert, cancellations and seat changes leaving pending credits, a declining card, an organisation
paying by invoice; `as_of` two or three period boundaries later, across the new year) is built once
through the services and copied: on SQLite a file copy, on PostgreSQL two databases beside the test
database (`<db>_crash_clean`, `<db>_crash_killed`, created and dropped by the test). One copy gets
the billing run uninterrupted, then `seatwise billing run` once more, which must change nothing. On
the other the billing run, each time a new process, is killed with SIGKILL up to fourteen times: the
`seatwise` script from outside, as soon as something new is committed (invoices, invoice numbers, the
new year's first invoices) and at random moments; the same CLI from inside, right after a random
commit (every state a kill can leave is the state after some commit). Then it is run to completion.
Both databases must then hold the same invoices (numbers, organisations, dates, totals, status),
lines, ledger, payments, subscriptions, audit trail and counters, compared by content, not by ids;
the numbers must have no gaps and the ledger must balance.

R32 at localstripe: a smaller book with the Stripe gateway against a localstripe the test starts, which
ignores idempotency keys; the run is killed ten times, several of them right after a gateway call answered
and before Seatwise recorded it, and run to completion. localstripe must then hold one PaymentIntent per
key, one succeeded PaymentIntent of its amount for each invoice paid by card and one Refund per key, each
recorded once in Seatwise; the ledger must balance.

A failure prints the seed of the random kill points; SEATWISE_CRASH_SEED=<seed> repeats them.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
import stripe
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from seatwise import db
from seatwise.billing import ledger
from seatwise.billing.models import Invoice, InvoiceCounter, LedgerEntry
from seatwise.catalog import service as catalog
from seatwise.core.invoicing import InvoiceStatus, PaymentKind, PaymentStatus
from seatwise.core.roles import OPERATOR
from seatwise.licenses import service as licenses
from seatwise.organizations import service as organizations
from seatwise.payments.models import Payment
from seatwise.payments.stripe_gateway import KEY_FIELD
from seatwise.subscriptions import service as subscriptions
from tests.factories import add_method
from tests.localstripe import TEST_KEY, flush, localstripe_server

SEATWISE = Path(sys.executable).parent / "seatwise"
BUILT_AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
# Two or three period boundaries for every subscription, across the new year (two invoice counters).
AS_OF = datetime(2027, 2, 10, 12, tzinfo=UTC)
ORGS = 150  # over 800 renewals, yet short enough for CI's 8 minutes on 2 cores
INVOICE_ORG = 5  # pays by invoice: net 30, never pays, disabled for non-payment
DECLINED = "4000000000000002"


# --- the dataset ---------------------------------------------------------------------------------


def build(url: str, *, orgs: int = ORGS, declined: str = DECLINED, decline_every: int = 23) -> None:
    """A deterministic book of business, through the services, in one unit of work; every `decline_every`-th
    organisation from the 12th on pays with the `declined` card."""
    rng = random.Random(20)
    with db.unit_of_work(url) as s:
        for sku, price, currency in (("SEAT", "12.50", "EUR"), ("PLUS", "7.99", "EUR"), ("YEN", "1000", "JPY")):
            catalog.add_product(
                s,
                sku=sku,
                name=f"{sku} product",
                price=price,
                currency=currency,
                interval="monthly",
                trial_days=30,
                max_seats=None,
                policy="standard",
                now=BUILT_AT,
            )
        for n in range(orgs):
            now = BUILT_AT + timedelta(days=n % 20, minutes=n)
            yen = n % 29 == 13
            org = organizations.add_org(
                s, name=f"Org {n}", currency="JPY" if yen else "EUR", locale="nl" if n % 3 == 0 else "en", now=now
            )
            if n == INVOICE_ORG:
                add_method(s, org_id=org.id, card_number=None, expiry=None, invoice=True, actor=OPERATOR, now=now)
            else:
                card = declined if n % decline_every == 11 else "4242424242424242"
                add_method(s, org_id=org.id, card_number=card, expiry="12/30", invoice=False, actor=OPERATOR, now=now)
            skus = ["YEN"] if yen else ["SEAT", "PLUS"]
            subs = [
                subscriptions.buy(
                    s, org_id=org.id, sku=rng.choice(skus), seats=rng.randint(1, 50), actor=OPERATOR, now=now
                )
                for _ in range(rng.randint(1, 5))
            ]
            if n % 11 == 4:  # a trial that converts at its end (R2)
                subscriptions.start_trial(
                    s, org_id=org.id, sku=skus[-1], seats=rng.randint(1, 20), actor=OPERATOR, now=now
                )
            later = now + timedelta(days=rng.randint(1, 9), hours=2)
            for sub in subs:
                roll = rng.random()
                if roll < 0.08:  # a pending credit, refunded when nothing absorbs it (R15, R16)
                    subscriptions.cancel(s, sub_id=sub.id, actor=OPERATOR, now=later)
                elif roll < 0.16 and sub.seats > 1:  # seats removed: a pending credit (R12)
                    licenses.set_total(s, sub_id=sub.id, total=rng.randint(1, sub.seats - 1), actor=OPERATOR, now=later)
                elif roll < 0.22:  # seats bought mid-period (R12)
                    licenses.set_total(
                        s, sub_id=sub.id, total=sub.seats + rng.randint(1, 10), actor=OPERATOR, now=later
                    )
                elif roll < 0.27:  # expires at period end, then disabled, never deleted before AS_OF (R4)
                    subscriptions.set_recurring_billing(s, sub_id=sub.id, enabled=False, actor=OPERATOR, now=later)


# --- copies of a database --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dataset(sqlite_template, tmp_path_factory) -> Path:
    """The dataset, built once per test session (per xdist worker) through the services, as a SQLite file."""
    path = tmp_path_factory.mktemp("crash") / "dataset.db"
    _sqlite_copy(Path(sqlite_template), path)
    url = f"sqlite:///{path}"
    build(url)
    db.engine_for(url).dispose()
    return path


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database, whatever its WAL holds."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _admin(url: str):
    """An engine outside any transaction, for CREATE and DROP DATABASE."""
    return create_engine(url, isolation_level="AUTOCOMMIT")


def _pg_databases(url: str, dataset: Path, names: list[str]) -> tuple[str, str]:
    """Two databases beside the test database, both holding the dataset; any left over are dropped first.

    The dataset is loaded into the first in bulk (table by table, in one transaction), and the
    second is created from it as a template."""
    base = make_url(url)
    clean, killed = (base.set(database=name).render_as_string(hide_password=False) for name in names)
    admin = _admin(url)
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{names[0]}"'))
        db.upgrade(clean)
        source, target = create_engine(f"sqlite:///{dataset}"), create_engine(clean)
        try:
            with source.connect() as src, target.begin() as dst:
                for table in db.Base.metadata.sorted_tables:
                    rows = [dict(row) for row in src.execute(select(table)).mappings()]
                    if rows:
                        dst.execute(table.insert(), rows)
                    if "id" in table.c:
                        dst.execute(
                            text(
                                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                f"COALESCE(MAX(id), 0) + 1, false) FROM {table.name}"
                            )
                        )
        finally:
            source.dispose()
            target.dispose()
        db.engine_for(clean).dispose()  # a template must have no other session
        with admin.connect() as conn:
            for attempt in range(50):  # a closed session's server process may take a moment to go
                try:
                    conn.execute(text(f'CREATE DATABASE "{names[1]}" TEMPLATE "{names[0]}"'))
                    break
                except OperationalError:
                    if attempt == 49:
                        raise
                    time.sleep(0.1)
    finally:
        admin.dispose()
    return clean, killed


def _drop_pg(url: str, names: list[str]) -> None:
    admin = _admin(url)
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# --- the billing run as a real process -----------------------------------------------------------


def _command(url: str, *, as_of: datetime = AS_OF) -> list[str]:
    return [str(SEATWISE), "billing", "run", "--now", as_of.isoformat(), "--db", url, "--json"]


# The same command in a process that counts its commits and SIGKILLs itself right after the N-th (N > 0).
# Every state a kill can leave is the state after some commit, so these are the kills that matter most,
# whatever the timing: an external kill lands after a commit only if it wins a race of a few milliseconds.
# With a negative N it dies right after its (-N)-th gateway call (a charge, a refund or a look-up) has
# answered, before the outcome is recorded (R32), whichever gateway SEATWISE_GATEWAY names.
_DIE_AFTER_COMMIT = """
import atexit, os, signal, sys
from sqlalchemy import event
from sqlalchemy.orm import Session
from seatwise.billing import jobs
after, commits, calls = int(sys.argv[1]), 0, 0
@event.listens_for(Session, "after_commit")
def count(session):
    global commits
    commits += 1
    if commits == after:
        os.kill(os.getpid(), signal.SIGKILL)
ask = jobs._ask
def ask_then_die(gateway, call):
    global calls
    outcome, calls = ask(gateway, call), calls + 1
    if calls == -after:
        os.kill(os.getpid(), signal.SIGKILL)
    return outcome
jobs._ask = ask_then_die
atexit.register(lambda: print(f"commits: {commits}", file=sys.stderr))
from seatwise.cli import app
sys.argv = ["seatwise", *sys.argv[2:]]
app()
"""


def _dying_command(url: str, after: int, *, as_of: datetime = AS_OF) -> list[str]:
    return [sys.executable, "-c", _DIE_AFTER_COMMIT, str(after), *_command(url, as_of=as_of)[1:]]


# Each copy's simulated gateway keeps its own store, as two separate outside systems would.
STORES: dict[str, Path] = {}


def _env(url: str) -> dict[str, str]:
    """The test's environment, with the copy's own simulator store if it has one."""
    return os.environ | ({"SEATWISE_GATEWAY_STORE": str(STORES[url])} if url in STORES else {})


def run_to_completion(url: str, *, as_of: datetime = AS_OF, timeout: float = 120) -> tuple[dict, int]:
    """Run the billing run to its end; return its summary and how many transactions it committed."""
    proc = subprocess.run(
        _dying_command(url, 0, as_of=as_of), capture_output=True, text=True, timeout=timeout, env=_env(url)
    )
    assert proc.returncode == 0, proc
    return json.loads(proc.stdout), int(proc.stderr.rsplit("commits: ", 1)[1])


class Progress(NamedTuple):
    """What a billing run has committed so far."""

    numbers: int  # invoice numbers taken, all years
    invoices: int
    new_year_invoices: int
    ledger: int


def progress(url: str) -> Progress:
    count = select(func.count())
    with db.read_only(url) as s:
        return Progress(
            *s.execute(
                select(
                    select(func.coalesce(func.sum(InvoiceCounter.last), 0)).scalar_subquery(),
                    count.select_from(Invoice).scalar_subquery(),
                    count.select_from(Invoice).where(Invoice.number.like("SW-2027-%")).scalar_subquery(),
                    count.select_from(LedgerEntry).scalar_subquery(),
                )
            ).one()
        )


def kill(
    url: str,
    *,
    ready: Callable[[Progress], bool] | None = None,
    after_commit: int = 0,
    delay: float = 0,
    as_of: datetime = AS_OF,
    timeout: float = 60,
) -> Progress | None:
    """Start the billing run and SIGKILL it: from outside, once what it has committed is `ready` and `delay`
    seconds more have passed; or from inside, right after its `after_commit`-th commit. Return what was
    committed when it died, or None if the run finished first."""
    command = _dying_command(url, after_commit, as_of=as_of) if after_commit else _command(url, as_of=as_of)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(url))
    try:
        deadline = time.monotonic() + timeout
        while proc.poll() is None and not (ready and ready(progress(url))):
            assert time.monotonic() < deadline, "the billing run did not get to the point to kill it"
            time.sleep(0.005)
        if proc.poll() is None:
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode == 0:
        return None
    assert proc.returncode == -signal.SIGKILL, f"the billing run failed: {out.decode()} {err.decode()}"
    return progress(url)


# The kill points of the big dataset's billing run; `kill_repeatedly` names each.
PLAN = (  # every kind at least once, 11 kills in all: each costs a process start and the work it undoes
    "invoices",
    "charging",
    "numbers",
    "inside",
    "early",
    "charging",
    "new year",
    "inside",
    "charging",
    "late",
    "inside",
)


def kill_repeatedly(
    url: str,
    *,
    ledger_total: int,
    commits: int,
    rng: random.Random,
    plan: tuple[str, ...] = PLAN,
    calls: int = 60,
    as_of: datetime = AS_OF,
    after_kill: Callable[[str], None] | None = None,
) -> list[Progress]:
    """Kill the billing run on `url` again and again, each time after it made some progress, until it finishes
    or the plan ends. From outside: as soon as something new is committed ("invoices", "numbers" taken, the
    "new year"'s first invoices), and at two random points ("early", "late": a number of ledger entries
    committed, then up to 0.1 s more, to land anywhere in the step being written). From inside: right after a
    random commit ("inside"), or right after one of its first `calls` gateway calls answered ("charging").
    `after_kill` sees the name of each kill point that killed the run, before the next run starts."""

    def changed(name):
        return lambda before: dict(ready=lambda now: getattr(now, name) > getattr(before, name))

    def past(low, high):
        target = int(ledger_total * rng.uniform(low, high))
        return lambda before: dict(
            ready=lambda now: now.ledger >= max(target, before.ledger + 1), delay=rng.uniform(0, 0.1)
        )

    def inside():
        return lambda before: dict(after_commit=rng.randint(1, max(1, commits // 12)))

    def charging():  # between the gateway's answer and recording it
        return lambda before: dict(after_commit=-rng.randint(1, calls))

    points = {
        "invoices": lambda: changed("invoices"),
        "numbers": lambda: changed("numbers"),
        "new year": lambda: changed("new_year_invoices"),
        "early": lambda: past(0.2, 0.4),
        "late": lambda: past(0.7, 0.85),
        "inside": inside,
        "charging": charging,
    }
    kills, before = [], progress(url)
    for name, how in [(name, points[name]()) for name in plan]:
        died = kill(url, **how(before), as_of=as_of)
        if died is None:
            break
        kills.append(died)
        before = died
        if after_kill is not None:
            after_kill(name)
    return kills


# --- what a billing run leaves behind, by content ------------------------------------------------------

# Tables whose rows the run (also) creates: their ids may differ between two databases (a killed
# transaction still uses up PostgreSQL sequence values), so rows are compared without them, and a
# reference to an invoice or a payment by what it is, not by its id.
NEW_ROWS = {"invoices", "charges", "payments", "ledger", "audit_log", "assignments", "events"}


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def _by_reference(data: dict, number: dict) -> str:
    """An event's data with the ids of rows a run makes (invoices, their lines and payments) left out, and
    invoices named by number."""
    if data.get("object") in ("invoice", "payment", "credit"):
        data = {k: v for k, v in data.items() if k != "id"}
    if "invoice_id" in data:
        data["invoice_id"] = number.get(data["invoice_id"], data["invoice_id"])
    return json.dumps(data, sort_keys=True)


def books(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, by content: the invoices, their lines in the order the invoice shows them,
    the ledger, payments, subscriptions, audit trail, counters, and all the rest."""
    with db.read_only(url) as s:
        invoices, payments_t = Invoice.__table__, Payment.__table__
        number = dict(s.execute(select(invoices.c.id, invoices.c.number)).all())
        payment = {
            row.id: (number[row.invoice_id], row.kind, _plain(row.at), row.status, row.amount)
            for row in s.execute(select(payments_t))
        }
        by_reference = {"invoices": number, "payments": payment}
        books = {}
        for table in db.Base.metadata.sorted_tables:
            columns = [c for c in table.c if not (c.name == "id" and table.name in NEW_ROWS)]
            references = {
                c.name: by_reference.get(next(iter(c.foreign_keys)).column.table.name)
                for c in columns
                if c.foreign_keys
            }
            rows = [
                tuple(
                    references[c.name].get(row[c.name]) if references.get(c.name) is not None else _plain(row[c.name])
                    for c in columns
                )
                for row in s.execute(select(table).order_by(*table.primary_key.columns)).mappings()
            ]
            if table.name == "events":  # the data of an event names its invoice and payment by id too
                data = [c.name for c in columns].index("data")
                rows = [(*row[:data], _by_reference(json.loads(row[data]), number), *row[data + 1 :]) for row in rows]
            if table.name == "charges":  # per invoice (pending lines first), in the order the invoice shows them
                invoice = [c.name for c in columns].index("invoice_id")
                rows.sort(key=lambda row: row[invoice] or "")
            else:
                rows.sort(key=repr)  # rows may hold None; only a stable order matters
            books[table.name] = rows
    return books


def _facts(url: str) -> dict:
    """What the run did, to prove the dataset exercises what R20 protects."""
    with db.read_only(url) as s:
        return {
            "ledger": Counter(dict(s.execute(select(LedgerEntry.kind, func.count()).group_by(LedgerEntry.kind)).all())),
            "failed payments": s.scalar(select(func.count()).where(Payment.status == "failed")),
            "numbers": sorted(s.scalars(select(Invoice.number))),
            "counters": dict(s.execute(select(InvoiceCounter.year, InvoiceCounter.last)).all()),
            "imbalances": ledger.check_ledger(s),
        }


def _assert_gapless(numbers: list[str], counters: dict[int, int]) -> None:
    """SW-<year>-000001 onwards, every number used once, up to the year's counter (R17)."""
    taken = Counter()
    for year, sequence in sorted((int(n.split("-")[1]), int(n.split("-")[2])) for n in numbers):
        taken[year] += 1
        assert sequence == taken[year], f"invoice numbers of {year} jump to {sequence} after {taken[year] - 1}"
    assert dict(taken) == counters


def _gateway_record(url: str) -> dict[str, list[tuple]]:
    with sqlite3.connect(STORES[url]) as conn:
        return {
            "charges": conn.execute("SELECT * FROM charges ORDER BY key").fetchall(),
            "refunds": conn.execute("SELECT * FROM refunds ORDER BY key").fetchall(),
        }


def _assert_charged_once(clean: str, killed: str) -> None:
    """R32: the gateway of the killed copy made exactly the charges and refunds of the clean one, and each
    money movement it made is recorded once in Seatwise, with its amount."""
    record = _gateway_record(killed)
    assert record == _gateway_record(clean)
    with db.read_only(killed) as s:
        recorded = Counter(
            s.execute(
                select(Payment.reference, Payment.amount).where(
                    Payment.status == "succeeded", Payment.reference.is_not(None)
                )
            ).all()
        )
    made = Counter((row[1], row[4]) for row in record["charges"] if row[6]) + Counter(
        (row[1], row[3]) for row in record["refunds"]
    )
    assert recorded == made and max(made.values()) == 1


def _assert_same(clean: dict, killed: dict) -> None:
    first = ["invoices", "charges", "ledger", "payments", "invoice_counters", "subscriptions"]
    differ = [table for table in first + sorted(set(clean) - set(first)) if clean[table] != killed[table]]
    if differ:
        details = []
        for table in differ[:3]:
            only_clean = list((Counter(clean[table]) - Counter(killed[table])).elements())
            only_killed = list((Counter(killed[table]) - Counter(clean[table])).elements())
            details.append(
                f"{table}: {len(clean[table])} rows clean, {len(killed[table])} after the kills\n"
                f"  only in the clean run ({len(only_clean)}): {only_clean[:3]}\n"
                f"  only after the kills ({len(only_killed)}): {only_killed[:3]}"
            )
        pytest.fail(
            f"after the kills, {', '.join(differ)} differ from an uninterrupted run\n" + "\n".join(details),
            pytrace=False,
        )


# --- the tests -----------------------------------------------------------------------------------------

# Under pytest-xdist the killed runs go to one worker and the pairs of runs to another; each builds the
# dataset once. The runs at localstripe (their own small book, their own localstripe) are a third group, of
# about a minute, which the first worker to be free takes.


@contextmanager
def two_copies(db_url: str, dataset: Path, tmp_path: Path, labels: tuple[str, str]) -> Iterator[tuple[str, str]]:
    """Two databases of the test's kind, each holding the dataset; PostgreSQL's are dropped afterwards."""
    postgres = make_url(db_url).get_backend_name() == "postgresql"
    names = [f"{make_url(db_url).database}_{label}" for label in labels]
    urls: tuple[str, str] | None = None
    try:
        if postgres:
            urls = _pg_databases(db_url, dataset, names)
        else:
            for label in labels:
                _sqlite_copy(dataset, tmp_path / f"{label}.db")
            urls = tuple(f"sqlite:///{tmp_path / f'{label}.db'}" for label in labels)
        for url, label in zip(urls, labels, strict=True):
            STORES[url] = tmp_path / f"{label}.gateway.sqlite3"
        yield urls
    finally:
        for url in urls or ():
            db.engine_for(url).dispose()
        if postgres:
            _drop_pg(db_url, names)


@pytest.mark.xdist_group("crash-killed")
def test_r20_a_billing_run_killed_with_sigkill_and_run_again_ends_as_one_clean_run(db_url, dataset, tmp_path):
    seed = int(os.environ.get("SEATWISE_CRASH_SEED", time.time_ns() % 1_000_000))
    print(f"seed {seed} (SEATWISE_CRASH_SEED={seed} repeats the kill points)")
    rng = random.Random(seed)
    with two_copies(db_url, dataset, tmp_path, ("crash_clean", "crash_killed")) as (clean, killed):
        started = time.perf_counter()
        summary, commits = run_to_completion(clean)
        clean_seconds = time.perf_counter() - started
        expected = books(clean)
        again = subprocess.run(_command(clean), capture_output=True, text=True, timeout=120, env=_env(clean))
        assert again.returncode == 0, again  # running it twice changes nothing (R20)
        assert {key: json.loads(again.stdout)[key] for key in ("subscriptions", "invoices", "payments")} == {
            "subscriptions": 0,
            "invoices": 0,
            "payments": {},
        }
        assert books(clean) == expected

        facts = _facts(clean)
        total = sum(facts["ledger"].values())
        kills = kill_repeatedly(killed, ledger_total=total, commits=commits, rng=rng)
        assert len(kills) >= 10, f"the billing run finished before it was killed often enough: {kills}"
        rest, _ = run_to_completion(killed)
        _assert_same(expected, books(killed))
        _assert_charged_once(clean, killed)

        assert facts["imbalances"] == []
        _assert_gapless(facts["numbers"], facts["counters"])
        # The dataset did exercise what R20 protects: conversions and renewals, credits and refunds,
        # declined cards and their retries, dunning, two years of invoice numbers.
        assert summary["transitions"]["renewed"] > 800 and summary["transitions"]["converted"] > 10
        assert facts["ledger"]["refund"] > 0 and facts["ledger"]["credit"] > 0 and facts["failed payments"] > 10
        assert summary["payments"]["disabled"] > 0 and len(facts["counters"]) == 2
        print(
            f"clean run {clean_seconds:.1f} s, {commits} commits, {summary['invoices']} invoices, {total} "
            f"ledger entries; killed with (numbers, invoices, new year's, ledger entries) committed: "
            f"{[tuple(died) for died in kills]}; the last run made {rest['invoices']} invoices"
        )


def _content(url: str) -> dict[str, list[tuple]]:
    """The books without what depends on which worker got there first (numbers and ids)."""
    with db.read_only(url) as s:
        return {
            "invoices": sorted(
                s.execute(
                    text(
                        "SELECT org_id, billing_date, total, credit_applied, amount_due, amount_paid, refunded,"
                        " transferred, status FROM invoices"
                    )
                ).all()
            ),
            "lines": sorted(
                s.execute(
                    text(
                        "SELECT c.subscription_id, c.kind, c.amount, i.billing_date FROM charges c"
                        " LEFT JOIN invoices i ON i.id = c.invoice_id"
                    )
                ).all(),
                key=repr,
            ),
            "ledger": sorted(
                s.execute(text("SELECT org_id, kind, SUM(amount) FROM ledger GROUP BY org_id, kind")).all()
            ),
            "subscriptions": sorted(
                s.execute(
                    text("SELECT id, status, status_reason, period_index, next_event_at FROM subscriptions")
                ).all(),
                key=repr,
            ),
        }


@pytest.mark.xdist_group("crash-pair")
def test_r20_two_billing_runs_at_once_end_as_one_clean_run(db_url, dataset, tmp_path):
    """Scale-out: two workers over one database skip each other's rows, never invoice a moment whose
    renewals the other is still writing, and never take the same number; together they end as one run."""
    with two_copies(db_url, dataset, tmp_path, ("pair_clean", "pair_both")) as (clean, both):
        run_to_completion(clean)
        workers = [
            subprocess.Popen(_command(both), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(both))
            for _ in range(2)
        ]
        results = [(w.wait(timeout=180), w.stderr.read()) for w in workers]
        assert [code for code, _ in results] == [0, 0], results
        assert _content(both) == _content(clean)
        facts = _facts(both)
        assert facts["imbalances"] == []
        _assert_gapless(facts["numbers"], facts["counters"])


# --- the same at localstripe (R32) ---------------------------------------------------------------------

# localstripe answers ~280 requests a second and the gateway lists every PaymentIntent at each look-up, so a
# small book: the first 24 organisations of the one above (about 60 subscriptions; the 12th and the 24th
# organisation with a card declined at every charge, for dunning retries; cancellations whose credit is
# refunded to the card), billed up to the new year's first renewals.
STRIPE_ORGS = 24
STRIPE_AS_OF = datetime(2027, 1, 10, 12, tzinfo=UTC)
DECLINED_AT_CHARGE = "4000000000000341"  # saved, then declined at each charge; localstripe refuses 0002 when saved
STRIPE_PLAN = (
    "charging",
    "invoices",
    "inside",
    "charging",
    "early",
    "charging",
    "new year",
    "inside",
    "charging",
    "late",
)


def _at_localstripe(api: stripe.StripeClient) -> tuple[list[stripe.PaymentIntent], list[stripe.Refund]]:
    """Every PaymentIntent and Refund localstripe holds, through its HTTP API."""
    return (
        list(api.v1.payment_intents.list({"limit": 100}).auto_paging_iter()),
        list(api.v1.refunds.list({"limit": 100}).auto_paging_iter()),
    )


def _key(found: stripe.PaymentIntent | stripe.Refund) -> str:
    return found.metadata.to_dict()[KEY_FIELD]


def _sent_unrecorded(url: str) -> list[str]:
    """Keys of the payment rows claimed for the gateway whose outcome Seatwise has not recorded."""
    with db.read_only(url) as s:
        return list(
            s.scalars(select(Payment.key).where(Payment.status == PaymentStatus.PENDING, Payment.sent.is_(True)))
        )


def _assert_charged_once_at_localstripe(url: str, api: stripe.StripeClient) -> tuple[int, int]:
    """R32 at a gateway that ignores idempotency keys: one PaymentIntent per key, each paid invoice paid by
    exactly one succeeded PaymentIntent of what it left to pay by card, one Refund per key, and each money
    movement at localstripe recorded once in Seatwise, with its amount. Returns the PaymentIntents and Refunds."""
    intents, refunds = _at_localstripe(api)
    keys = Counter(_key(found) for found in [*intents, *refunds])
    assert keys and max(keys.values()) == 1, [key for key, n in keys.items() if n > 1]
    succeeded = [pi for pi in intents if pi.status == "succeeded"]
    paid_by = Counter(pi.metadata.to_dict()["seatwise_invoice"] for pi in succeeded)
    assert max(paid_by.values()) == 1, [number for number, n in paid_by.items() if n > 1]
    with db.read_only(url) as s:
        credited = dict(
            s.execute(
                select(Payment.invoice_id, func.sum(Payment.amount))
                .where(Payment.kind == PaymentKind.CREDIT)
                .group_by(Payment.invoice_id)
            ).all()
        )
        by_card = {
            number: paid - credited.get(invoice_id, 0)
            for invoice_id, number, paid in s.execute(
                select(Invoice.id, Invoice.number, Invoice.amount_paid).where(Invoice.status == InvoiceStatus.PAID)
            )
            if paid > credited.get(invoice_id, 0)
        }
        recorded = Counter(
            s.execute(
                select(Payment.reference, Payment.amount).where(
                    Payment.status == PaymentStatus.SUCCEEDED, Payment.key.is_not(None)
                )
            ).all()
        )
        pending = s.scalar(select(func.count()).where(Payment.status == PaymentStatus.PENDING))
    assert pending == 0
    assert {pi.metadata.to_dict()["seatwise_invoice"]: pi.amount for pi in succeeded} == by_card
    made = Counter((found.id, found.amount) for found in [*succeeded, *refunds])
    assert recorded == made
    return len(intents), len(refunds)


@pytest.mark.xdist_group("crash-localstripe")
def test_r32_a_billing_run_killed_with_sigkill_charges_each_invoice_once_at_localstripe(db_url, monkeypatch):
    """The kills of the test above, with the Stripe gateway at a localstripe of the test's own: it does not
    honour idempotency keys, so only Seatwise's look-up by key (a row sent before) keeps a killed run from
    charging twice."""
    seed = int(os.environ.get("SEATWISE_CRASH_SEED", time.time_ns() % 1_000_000))
    print(f"seed {seed} (SEATWISE_CRASH_SEED={seed} repeats the kill points)")
    rng = random.Random(seed)
    with localstripe_server() as base:
        flush(base)  # a new localstripe starts empty; the counts below must see this test's objects only
        # The test's environment, inherited by every billing run it starts.
        monkeypatch.setenv("SEATWISE_GATEWAY", "stripe")
        monkeypatch.setenv("STRIPE_API_KEY", TEST_KEY)
        monkeypatch.setenv("SEATWISE_STRIPE_API_BASE", base)
        api = stripe.StripeClient(TEST_KEY, base_addresses={"api": base})
        started = time.perf_counter()
        build(db_url, orgs=STRIPE_ORGS, declined=DECLINED_AT_CHARGE, decline_every=12)

        landed = Counter()

        def between_call_and_record(point: str) -> None:
            """A kill landed between a gateway call and its record if a row sent to the gateway is unanswered in
            Seatwise while localstripe holds what the call made."""
            intents, refunds = _at_localstripe(api)
            made = {_key(pi): "charge" for pi in intents} | {_key(refund): "refund" for refund in refunds}
            for key in _sent_unrecorded(db_url):
                if key in made:
                    landed[made[key]] += 1
                elif point == "charging":
                    pytest.fail(f"killed after a gateway call, but localstripe holds nothing with key {key}")

        # Less than the run makes (about 5 ledger entries and 10 commits per organisation), so that every kill
        # point comes before its end; each "charging" kill comes after one of a run's first 8 gateway calls.
        kills = kill_repeatedly(
            db_url,
            ledger_total=4 * STRIPE_ORGS,
            commits=6 * STRIPE_ORGS,
            rng=rng,
            plan=STRIPE_PLAN,
            calls=8,
            as_of=STRIPE_AS_OF,
            after_kill=between_call_and_record,
        )
        assert len(kills) == len(STRIPE_PLAN), f"the billing run finished before it was killed often enough: {kills}"
        run_to_completion(db_url, as_of=STRIPE_AS_OF)
        intents, refunds = _assert_charged_once_at_localstripe(db_url, api)
        facts = _facts(db_url)
        assert facts["imbalances"] == []
        _assert_gapless(facts["numbers"], facts["counters"])
        # Declined cards and their retries, refunds, and a charge looked up by its key after a kill.
        assert facts["failed payments"] >= 4 and refunds > 0 and landed["charge"] > 0
        print(
            f"{time.perf_counter() - started:.1f} s, {len(kills)} kills, {sum(landed.values())} between a gateway call"
            f" and its record ({dict(landed)}); {intents} PaymentIntents, {refunds} Refunds at localstripe"
        )
