"""Benchmark of the admin center: server time of every page for one organisation with 1,000
subscriptions and 10,000 users (issue 4's target: no page over 100 ms).

    .venv/bin/python bench/admin_pages.py [--db URL] [--subs 1000] [--users 10000] [--repeat 20]

Builds the organisation through the services (users, purchases, licence assignments,
cancellations, six months of billing runs), signs in as its Global admin and as the operator,
then requests each page in-process and prints the server time per page (median, p95, max in ms)
measured by a middleware around the app, so the client's own work is not counted.
"""

from __future__ import annotations

import argparse
import gc
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import text

from seatwise import db
from seatwise.accounts import service as accounts
from seatwise.app import create_app
from seatwise.billing_run import service as billing_run
from seatwise.catalog import service as catalog
from seatwise.clock import FixedClock
from seatwise.core.roles import OPERATOR
from seatwise.licenses import service as licenses
from seatwise.organizations import service as organizations
from seatwise.payments import service as payments
from seatwise.subscriptions import service as subscriptions

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
PASSWORD = "bench-password"


def build(url: str, *, subs: int, users: int) -> dict:
    """The organisation, as six months of use would leave it."""
    start = NOW - timedelta(days=190)
    with db.unit_of_work(url) as s:
        for sku, price, interval in (
            ("BIZ", "12.50", "monthly"),
            ("ENT", "396.00", "annual"),
            ("COMMIT", "11.00", "monthly"),
        ):
            catalog.add_product(
                s,
                sku=sku,
                name=f"Product {sku}",
                price=price,
                currency="EUR",
                interval=interval,
                trial_days=30,
                max_seats=None,
                policy="standard",
                now=start,
            )
        org = organizations.add_org(s, name="Northwind", currency="EUR", locale="en", now=start)
        admin = organizations.add_user(
            s,
            org_id=org.id,
            email="admin@northwind.example",
            name="Admin",
            role="global_admin",
            actor=OPERATOR,
            now=start,
        )
        s.flush()
        organizations.set_password(s, user_id=admin.id, password=PASSWORD, now=start)
        accounts.add_operator(s, email="operator@bench.example", name="Operator", password=PASSWORD, now=start)
        user_ids = [
            organizations.add_user(
                s,
                org_id=org.id,
                email=f"user{n:05d}@northwind.example",
                name=None,
                role="user",
                actor=OPERATOR,
                now=start,
            ).id
            for n in range(users)
        ]
        payments.add_payment_method(
            s, org_id=org.id, card_number="4242424242424242", expiry="12/30", invoice=False, actor=OPERATOR, now=start
        )
        s.flush()
        org_id = org.id
    per_sub = max(1, users // subs)
    sub_ids = []
    for k in range(subs):  # bought one after another over the first five months
        at = start + timedelta(minutes=k * (150 * 24 * 60 // subs))
        with db.unit_of_work(url) as s:
            sub = subscriptions.buy(
                s, org_id=org_id, sku=("BIZ", "ENT", "COMMIT")[k % 3], seats=per_sub + 2, actor=OPERATOR, now=at
            )
            s.flush()
            for user_id in user_ids[k * per_sub : (k + 1) * per_sub]:
                licenses.assign(s, sub_id=sub.id, user_id=user_id, actor=OPERATOR, now=at)
            sub_ids.append(sub.id)
    later = start + timedelta(days=160)
    with db.unit_of_work(url) as s:
        billing_run.run(s, as_of=later)
    with db.unit_of_work(url) as s:
        for sub_id in sub_ids[::20]:  # one in twenty cancelled: credits pending, subscriptions disabled
            subscriptions.cancel(
                s, sub_id=sub_id, actor=OPERATOR, now=later + timedelta(hours=1), reason="too_expensive"
            )
        for user_id in user_ids[::100]:  # a hundred users removed, restorable
            organizations.remove_user(s, user_id=user_id, actor=OPERATOR, now=later + timedelta(hours=2))
    with db.unit_of_work(url) as s:
        billing_run.run(s, as_of=NOW)
    with db.read_only(url) as s:
        invoice_id = s.scalar(text("SELECT max(id) FROM invoices"))
    return {"sub": sub_ids[1], "invoice": invoice_id}


def sign_in(client: TestClient, email: str, *, operator: bool = False) -> None:
    path = "/operator/signin" if operator else "/signin"
    token = re.search(r'name="form_token" value="([^"]+)"', client.get(path).text).group(1)
    response = client.post(path, data={"email": email, "password": PASSWORD, "form_token": token})
    assert response.status_code == 303, response.text[:500]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    parser.add_argument("--subs", type=int, default=1000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp(prefix='seatwise-bench-')}/seatwise.db"
    if args.db and url.startswith("postgresql"):
        with db.engine_for(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    db.upgrade(url)
    started = time.perf_counter()
    ids = build(url, subs=args.subs, users=args.users)
    if url.startswith("postgresql"):  # the statistics autovacuum would have gathered by now
        with db.engine_for(url).begin() as conn:
            conn.execute(text("ANALYZE"))
    print(
        f"built {args.subs:,} subscriptions and {args.users:,} users in {time.perf_counter() - started:.0f} s "
        f"({url.split(':')[0]})"
    )

    app = create_app(url=url, clock=FixedClock(NOW))
    gc.collect()  # as `seatwise serve` does before it serves
    gc.freeze()
    timings: list[float] = []

    @app.middleware("http")
    async def server_time(request, call_next):
        began = time.perf_counter()
        response = await call_next(request)
        timings.append(time.perf_counter() - began)
        return response

    sub, invoice = ids["sub"], ids["invoice"]
    pages = {
        False: [
            "/",
            "/billing/products",
            "/billing/products?page=10",
            f"/billing/subscriptions/{sub}",
            f"/billing/subscriptions/{sub}/cancel",
            f"/billing/subscriptions/{sub}/licenses?total=40",
            "/users",
            "/users?page=150",
            "/users?q=user0999",
            f"/users?sub={sub}",
            "/users?removed=true",
            "/billing/invoices",
            f"/billing/invoices/{invoice}",
            f"/billing/invoices/{invoice}/pdf",
        ],
        True: ["/operator", "/operator/products", "/operator/billing-runs", "/operator/audit"],
    }
    worst = 0.0
    print(f"{'page':<44} {'median':>8} {'p95':>8} {'max':>8}  (ms, server time, {args.repeat} requests)")
    for operator, paths in pages.items():
        client = TestClient(app, follow_redirects=False)
        sign_in(client, "operator@bench.example" if operator else "admin@northwind.example", operator=operator)
        for path in paths:
            for _ in range(2):  # warm: templates compiled, statements cached
                assert client.get(path).status_code == 200, path
            timings.clear()
            for _ in range(args.repeat):
                client.get(path)
            ms = sorted(t * 1000 for t in timings)
            p95 = ms[min(len(ms) - 1, round(0.95 * len(ms)) - 1)]
            worst = max(worst, ms[-1])
            print(f"{path:<44} {statistics.median(ms):8.1f} {p95:8.1f} {ms[-1]:8.1f}")
    print(f"slowest request: {worst:.1f} ms (target: 100 ms)")
    sys.exit(0)


if __name__ == "__main__":
    main()
