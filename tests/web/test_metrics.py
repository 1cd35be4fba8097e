"""The operator's monthly figures: MRR per currency, subscriptions started and churned.

Subscriptions are bought, billed and cancelled through the real services, on SQLite and on
PostgreSQL; every expected figure is worked out by hand in the comments. The `world` product
costs €12.50 = 1250 cents per licence per month. T0 is Sunday 1 November 2026, 09:30 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select

from seatwise import db
from seatwise.billing.models import Charge
from seatwise.catalog import service as catalog
from seatwise.events.models import AuditEntry
from seatwise.subscriptions import service as subscriptions
from seatwise.subscriptions.models import Subscription
from seatwise.web.metrics import MonthFigures, month_starts, monthly_revenue
from tests.conftest import T0
from tests.factories import run_billing, world


def at(y: int, m: int, d: int, h: int = 0) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


def figures(rows: list[MonthFigures]) -> list[tuple]:
    return [(r.month_start.date().isoformat(), r.mrr, r.started, r.churned) for r in rows]


# --- months ----------------------------------------------------------------------------------


def test_months_are_the_calendar_months_ending_with_the_one_holding_now_oldest_first():
    assert month_starts(now=at(2027, 1, 15, 13), months=3) == [at(2026, 11, 1), at(2026, 12, 1), at(2027, 1, 1)]
    # 23:30 on 31 January in New York is already February in UTC
    new_york = timezone(timedelta(hours=-5))
    assert month_starts(now=datetime(2027, 1, 31, 23, 30, tzinfo=new_york), months=1) == [at(2027, 2, 1)]
    twelve = month_starts(now=at(2026, 12, 31, 23), months=12)
    assert (len(twelve), twelve[0], twelve[-1]) == (12, at(2026, 1, 1), at(2026, 12, 1))
    with pytest.raises(ValueError):
        month_starts(now=datetime(2027, 1, 15), months=3)  # a naive time is ambiguous


def test_no_subscriptions_gives_empty_months(uow):
    with uow() as s:
        rows = monthly_revenue(s, now=T0, months=2)
    assert figures(rows) == [("2026-10-01", {}, 0, 0), ("2026-11-01", {}, 0, 0)]


# --- MRR and churn -----------------------------------------------------------------------------


def test_monthly_mrr_per_currency_follows_renewals_and_drops_after_a_cancellation(uow):
    with uow() as s:
        contoso = world(s, now=T0, users=0, name="Contoso")
        fabrikam = world(s, now=T0, users=0, name="Fabrikam", sku="PRO", currency="USD", price="10.00")
        a = subscriptions.buy(s, org_id=contoso.org_id, sku="BIZ", seats=10, actor=contoso.billing_admin, now=T0)
    with uow() as s:
        # bought on 15 November: its periods run from the 15th to the 15th
        subscriptions.buy(
            s, org_id=fabrikam.org_id, sku="PRO", seats=4, actor=fabrikam.billing_admin, now=at(2026, 11, 15, 12)
        )
    run_billing(uow, as_of=at(2027, 1, 10, 9))
    with uow() as s:
        subscriptions.cancel(s, sub_id=a.id, actor=contoso.billing_admin, now=at(2027, 1, 10, 10))
    now = at(2027, 2, 20, 8)
    run_billing(uow, as_of=now)
    with uow() as s:
        rows = monthly_revenue(s, now=now, months=5)
    assert [r.month_start for r in rows] == [
        at(2026, 10, 1),
        at(2026, 11, 1),
        at(2026, 12, 1),
        at(2027, 1, 1),
        at(2027, 2, 1),
    ]
    assert figures(rows) == [
        ("2026-10-01", {"EUR": 0, "USD": 0}, 0, 0),  # nothing bought yet
        # Contoso's first period 1 Nov–1 Dec holds 1 Nov 00:00: 10 × 1250; Fabrikam's starts on the 15th
        ("2026-11-01", {"EUR": 12500, "USD": 0}, 2, 0),
        # Contoso renewed 1 Dec; Fabrikam's 15 Nov–15 Dec period: 4 × $10.00 = 4000 cents
        ("2026-12-01", {"EUR": 12500, "USD": 4000}, 0, 0),
        # both renewed (1 Jan, 15 Dec); Contoso cancels on 10 January: churn in January
        ("2027-01-01", {"EUR": 12500, "USD": 4000}, 0, 1),
        # Contoso's last period ended on 1 February and was not renewed
        ("2027-02-01", {"EUR": 0, "USD": 4000}, 0, 0),
    ]


def test_annual_subscription_counts_a_twelfth_rounded_half_up_until_it_is_cancelled(uow):
    with uow() as s:
        w = world(s, now=T0, users=0, period="annual", price="100.14")
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=1, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=at(2027, 3, 10, 9))
    with uow() as s:
        # the year 1 Nov 2026–1 Nov 2027 was billed whole; cancelled in March, it must stop counting
        subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=at(2027, 3, 10, 10))
    now = at(2027, 4, 5)
    run_billing(uow, as_of=now)
    with uow() as s:
        assert [c.amount for c in s.query(Charge).filter_by(kind="period")] == [10014]
        rows = monthly_revenue(s, now=now, months=6)
    # 10014 / 12 = 834.5 → 835 (half up)
    assert figures(rows) == [
        ("2026-11-01", {"EUR": 835}, 1, 0),
        ("2026-12-01", {"EUR": 835}, 0, 0),
        ("2027-01-01", {"EUR": 835}, 0, 0),
        ("2027-02-01", {"EUR": 835}, 0, 0),
        ("2027-03-01", {"EUR": 835}, 0, 1),
        ("2027-04-01", {"EUR": 0}, 0, 0),
    ]


def test_annual_twelfths_are_rounded_once_per_month_and_currency_not_per_line(uow):
    with uow() as s:
        w = world(s, now=T0, users=0, period="annual", price="0.06")
        other = world(s, now=T0, users=0, name="Fabrikam", sku="PRO", period="annual", price="0.06")
        subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=1, actor=w.billing_admin, now=T0)
        subscriptions.buy(s, org_id=other.org_id, sku=other.sku, seats=1, actor=other.billing_admin, now=T0)
        rows = monthly_revenue(s, now=T0, months=1)
    # two yearly 6-cent lines: (6 + 6) / 12 = 1 cent a month; per line it would be 0.5 + 0.5 → 1 + 1 = 2
    assert rows[0].mrr == {"EUR": 1}


def test_expiry_at_period_end_is_churn_once_and_trials_count_only_when_converted(uow):
    with uow() as s:
        lapsing = world(s, now=T0, users=0, name="Contoso")
        converting = world(s, now=T0, users=0, name="Fabrikam", sku="PRO", price="20.00")
        unpaid = world(s, now=T0, users=0, name="Northwind", sku="TRY", card=False)
        subscriptions.start_trial(
            s, org_id=converting.org_id, sku="PRO", seats=3, actor=converting.billing_admin, now=T0
        )
        subscriptions.start_trial(s, org_id=unpaid.org_id, sku="TRY", seats=3, actor=unpaid.billing_admin, now=T0)
    with uow() as s:
        sub = subscriptions.buy(
            s, org_id=lapsing.org_id, sku="BIZ", seats=2, actor=lapsing.billing_admin, now=at(2026, 11, 15, 9)
        )
    with uow() as s:
        subscriptions.set_recurring_billing(
            s, sub_id=sub.id, enabled=False, actor=lapsing.billing_admin, now=at(2026, 11, 20, 9)
        )
    now = at(2027, 1, 20)
    run_billing(uow, as_of=now)
    with uow() as s:
        actions = [
            e.action
            for e in s.query(AuditEntry).filter_by(entity="subscriptions", entity_id=sub.id).order_by(AuditEntry.id)
        ]
        assert actions[-2:] == ["subscription.expired", "subscription.disabled"]  # 15 Dec, then 14 Jan
        rows = monthly_revenue(s, now=now, months=3)
    assert figures(rows) == [
        # the trials pay nothing yet; Contoso's period starts on the 15th
        ("2026-11-01", {"EUR": 0}, 1, 0),
        # Contoso's 15 Nov–15 Dec period: 2 × 1250; Fabrikam's trial converted on 1 Dec: 3 × 2000.
        # Northwind's trial ended without a card: it never paid, so that is no churn.
        ("2026-12-01", {"EUR": 2500 + 6000}, 1, 1),
        # Contoso expired on 15 December (the churn); being disabled on 14 January is not churn again
        ("2027-01-01", {"EUR": 6000}, 0, 0),
    ]


def test_a_subscription_churns_at_most_once_a_month_and_reactivation_is_no_new_start(uow):
    with uow() as s:
        w = world(s, now=T0, users=0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=1, actor=w.billing_admin, now=T0)
    steps = [
        (subscriptions.cancel, at(2026, 11, 5, 9)),
        (subscriptions.reactivate, at(2026, 11, 6, 9)),
        (subscriptions.cancel, at(2026, 11, 20, 9)),
        (subscriptions.reactivate, at(2026, 12, 2, 9)),
        (subscriptions.cancel, at(2026, 12, 3, 9)),
    ]
    for action, when in steps:
        with uow() as s:
            action(s, sub_id=sub.id, actor=w.billing_admin, now=when)
    now = at(2026, 12, 20)
    run_billing(uow, as_of=now)
    with uow() as s:
        rows = monthly_revenue(s, now=now, months=2)
    # November: bought, cancelled twice, counted once; December: reactivated (no new start), cancelled.
    assert [(r.started, r.churned) for r in rows] == [(1, 1), (0, 1)]
    # 1 December: cancelled since 20 November, so not renewed; the reactivation charge is no whole period
    assert [r.mrr for r in rows] == [{"EUR": 1250}, {"EUR": 0}]


# --- cost ------------------------------------------------------------------------------------------


def _many(s, *, subs: int, periods: int) -> None:
    """`subs` monthly subscriptions of one organisation, each with `periods` monthly lines; a tenth cancelled."""
    w = world(s, now=T0, users=0)
    product_id = catalog.get_by_sku(s, sku=w.sku).id
    first = at(2025, 1, 1)
    rows, lines, entries = [], [], []
    for n in range(subs):
        anchor = first + timedelta(days=n % 28)
        end = anchor + timedelta(days=31 * periods)
        rows.append(
            dict(
                org_id=w.org_id,
                product_id=product_id,
                status="active",
                interval="monthly",
                anchor=anchor,
                period_index=periods - 1,
                current_period_start=anchor,
                current_period_end=end,
                started_as_trial=False,
                recurring_billing=True,
                seats=1 + n % 5,
                unit_price=1250,
                currency="EUR",
                next_event_at=end,
                created_at=anchor,
                updated_at=anchor,
            )
        )
    db.bulk_insert(s, Subscription.__table__, rows)
    ids = list(s.scalars(select(Subscription.id).order_by(Subscription.id)))
    for n, sub_id in enumerate(ids):
        anchor = first + timedelta(days=n % 28)
        for p in range(periods):
            start = anchor + timedelta(days=31 * p)
            lines.append(
                dict(
                    org_id=w.org_id,
                    subscription_id=sub_id,
                    kind="period",
                    description="x",
                    quantity=1,
                    amount=1250,
                    currency="EUR",
                    period_start=start,
                    period_end=start + timedelta(days=31),
                    created_at=start,
                    bill_on=start,
                    key=f"bench:{sub_id}:{p}",
                    invoice_id=None,
                )
            )
        entries.append(
            dict(
                at=anchor,
                actor="bench",
                org_id=w.org_id,
                action="subscription.started",
                entity="subscriptions",
                entity_id=sub_id,
                before=None,
                after=None,
            )
        )
        if n % 10 == 0:
            entries.append(
                dict(
                    at=anchor + timedelta(days=200),
                    actor="bench",
                    org_id=w.org_id,
                    action="subscription.canceled",
                    entity="subscriptions",
                    entity_id=sub_id,
                    before=None,
                    after=None,
                )
            )
    db.bulk_insert(s, Charge.__table__, lines)
    db.bulk_insert(s, AuditEntry.__table__, entries)


def test_figures_take_three_queries_whatever_the_number_of_subscriptions_and_months(uow, db_url):
    with uow() as s:
        _many(s, subs=40, periods=24)
    statements = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engine = db.engine_for(db_url)
    event.listen(engine, "before_cursor_execute", count)
    try:
        with uow() as s:
            rows = monthly_revenue(s, now=at(2026, 12, 10), months=24)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(rows) == 24 and sum(r.started for r in rows) == 40
    # 40 subscriptions × 24 months would take hundreds of queries one by one
    assert len([q for q in statements if q.lstrip().upper().startswith("SELECT")]) == 3
