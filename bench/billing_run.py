"""Benchmark of the billing run: N active monthly subscriptions crossing one period boundary.

    .venv/bin/python bench/billing_run.py N [--db URL]

Seeds N subscriptions (1 to 50 seats, N/3 organisations paying by card, one in ten with a
pending credit) whose period ends on 1 December 2026, runs the billing run up to that moment
as `seatwise billing run` does (one commit per step), and prints subscriptions per second. In the
same process it times the floor: the same invoice and line rows written with plain sqlite3
executemany in one transaction, and prints the ratio run/floor.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime

from sqlalchemy import insert, text

from seatwise import db
from seatwise.billing import ledger
from seatwise.billing.models import Charge
from seatwise.billing_run import service as billing_run
from seatwise.catalog.models import Product
from seatwise.organizations.models import Organization
from seatwise.payments.models import PaymentMethod
from seatwise.subscriptions.models import Subscription

START = datetime(2026, 11, 1, tzinfo=UTC)
BOUNDARY = datetime(2026, 12, 1, tzinfo=UTC)
PRICE = 1250  # €12.50


def seed(url: str, n: int, *, seed_value: int = 7) -> None:
    """Write the subscriptions as the services would leave them on 1 November, in bulk."""
    rng = random.Random(seed_value)
    orgs = max(1, n // 3)
    engine = db.engine_for(url)
    with engine.begin() as conn:
        conn.execute(
            insert(Product),
            [
                dict(
                    id=1,
                    sku="BENCH",
                    name="Seatwise Business",
                    unit_price=PRICE,
                    currency="EUR",
                    interval="monthly",
                    trial_days=30,
                    max_seats=None,
                    policy="standard",
                    created_at=START,
                )
            ],
        )
        conn.execute(
            insert(Organization),
            [
                dict(id=i, name=f"Org {i}", currency="EUR", locale="nl" if i % 4 == 0 else "en", created_at=START)
                for i in range(1, orgs + 1)
            ],
        )
        conn.execute(
            insert(PaymentMethod),
            [
                dict(
                    id=i,
                    org_id=i,
                    kind="card",
                    brand="visa",
                    last4="4242",
                    exp_month=12,
                    exp_year=2030,
                    token="sim_succeeds_4242",
                    created_at=START,
                )
                for i in range(1, orgs + 1)
            ],
        )
        subs, credits = [], []
        for i in range(1, n + 1):
            seats = rng.randint(1, 50)
            org_id = (i - 1) % orgs + 1
            subs.append(
                dict(
                    id=i,
                    org_id=org_id,
                    product_id=1,
                    status="active",
                    status_reason=None,
                    state_until=None,
                    interval="monthly",
                    anchor=START,
                    period_index=0,
                    current_period_start=START,
                    current_period_end=BOUNDARY,
                    trial_end=None,
                    started_as_trial=False,
                    recurring_billing=True,
                    seats=seats,
                    unit_price=PRICE,
                    currency="EUR",
                    next_event_at=BOUNDARY,
                    canceled_at=None,
                    cancel_reason=None,
                    cancel_comment=None,
                    created_at=START,
                    updated_at=START,
                )
            )
            if i % 10 == 0:  # one licence removed on 21 November: 10 of 30 days come back
                credits.append(
                    dict(
                        org_id=org_id,
                        subscription_id=i,
                        kind="seats_removed",
                        description="Credit: 1 licences removed × 10/30 days, 21–30 Nov 2026",
                        quantity=1,
                        amount=-(PRICE * 10 // 30),
                        currency="EUR",
                        period_start=datetime(2026, 11, 21, tzinfo=UTC),
                        period_end=BOUNDARY,
                        created_at=datetime(2026, 11, 20, 12, tzinfo=UTC),
                        bill_on=BOUNDARY,
                        key=None,
                        invoice_id=None,
                    )
                )
        for chunk in range(0, n, 50_000):
            conn.execute(insert(Subscription), subs[chunk : chunk + 50_000])
        if credits:
            conn.execute(insert(Charge), credits)


def run(url: str) -> tuple[float, dict]:
    """The billing run as the CLI does it: steps, one commit each."""
    summary = billing_run.RunSummary(as_of=BOUNDARY)
    started = time.perf_counter()
    while not summary.done:
        with db.unit_of_work(url) as session:
            summary.add(billing_run.run_step(session, as_of=BOUNDARY))
    return time.perf_counter() - started, summary.as_dict()


def floor(n: int, orgs: int) -> float:
    """The same invoice and line rows, written with plain sqlite3 executemany in one transaction."""
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "floor.db")
        db.upgrade(f"sqlite:///{path}")
        db.engine_for(f"sqlite:///{path}").dispose()
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=OFF")
        stamp = "2026-12-01 00:00:00.000000"  # how db.UTCDateTime writes a time in SQLite
        seats = [rng.randint(1, 50) for _ in range(n)]
        started = time.perf_counter()
        invoices = [
            (i, f"SW-2026-{i:06d}", i, stamp, stamp, stamp, "EUR", 0, 0, 0, 0, 0, 0, "paid", stamp, i, 1)
            for i in range(1, orgs + 1)
        ]
        lines = [
            (
                i,
                (i - 1) % orgs + 1,
                i,
                "period",
                f"{seats[i - 1]} licences of Seatwise Business, 1–31 Dec 2026",
                seats[i - 1],
                PRICE * seats[i - 1],
                "EUR",
                stamp,
                stamp,
                stamp,
                stamp,
                f"period:{i}:2026-11-01:1",
                (i - 1) % orgs + 1,
            )
            for i in range(1, n + 1)
        ]
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO invoices (id, number, org_id, billing_date, issued_at, due_at, currency, total,"
            " credit_applied, amount_due, amount_paid, refunded, transferred, status, paid_at, payment_method_id,"
            " attempts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            invoices,
        )
        conn.executemany(
            "INSERT INTO charges (id, org_id, subscription_id, kind, description, quantity, amount, currency,"
            " period_start, period_end, created_at, bill_on, key, invoice_id)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            lines,
        )
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int, help="number of subscriptions")
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{os.path.join(tmp, 'bench.db')}"
        if url.startswith("postgresql"):
            engine = db.engine_for(url)
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        db.upgrade(url)
        started = time.perf_counter()
        seed(url, args.n)
        print(f"seeded {args.n:,} subscriptions in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        seconds, summary = run(url)
        print(f"billing run: {seconds:.2f} s", file=sys.stderr, flush=True)
        with db.read_only(url) as session:
            problems = ledger.check_ledger(session)
            invoices = session.scalar(text("SELECT count(*) FROM invoices"))
    orgs = max(1, args.n // 3)
    floor_seconds = floor(args.n, orgs)
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    rate, floor_rate = args.n / seconds, args.n / floor_seconds
    print(f"database: {backend}")
    print(
        f"subscriptions: {args.n:,}; renewed: {summary['transitions']['renewed']:,}; invoices: {invoices:,}; "
        f"ledger balanced: {not problems}"
    )
    print(f"billing run: {seconds:.2f} s, {rate:,.0f} subscriptions/s")
    print(
        f"floor (sqlite3 executemany of the same invoices and lines): {floor_seconds:.2f} s, "
        f"{floor_rate:,.0f} subscriptions/s"
    )
    print(f"ratio run/floor: {seconds / floor_seconds:.2f}")


if __name__ == "__main__":
    main()
