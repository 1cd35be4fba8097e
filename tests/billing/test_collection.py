"""R32: cards are charged outside any database transaction, with a key that names the same charge on every
retry; a charge whose answer was lost is looked up at the gateway, never made twice. The simulated gateway
keeps its own store (a SQLite file per test), which these tests read as the outside world's record."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from seatwise.billing import service as billing
from seatwise.billing.models import Invoice
from seatwise.billing_run import jobs
from seatwise.core.errors import Refused
from seatwise.core.money import Money
from seatwise.core.roles import OPERATOR
from seatwise.payments.gateway import KeyReused, Outcome
from seatwise.payments.models import Payment
from seatwise.payments.simulator import SimulatedGateway, simulator_store
from seatwise.subscriptions import service as subscriptions
from tests.conftest import T0
from tests.factories import add_method, run_billing, world

GOOD, DECLINED, EXPIRED = "4242424242424242", "4000000000000341", "4000000000000069"
NOV_2 = datetime(2026, 11, 2, tzinfo=UTC)


def _buy(uow, *, card: str = GOOD, seats: int = 10, name: str = "Contoso"):
    with uow() as s:
        w = world(s, now=T0, users=0, card=False, name=name, sku=name.upper())
        add_method(s, org_id=w.org_id, card_number=card, expiry="12/30", actor=OPERATOR, now=T0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=seats, actor=w.billing_admin, now=T0)
    return w, sub.id


def _store(url: str) -> sqlite3.Connection:
    return sqlite3.connect(simulator_store(url))


def _charges(url: str) -> list[tuple]:
    with _store(url) as conn:
        return conn.execute("SELECT key, reference, amount, currency, succeeded FROM charges ORDER BY key").fetchall()


def _invoice(uow, org_id: int) -> tuple[Invoice, list[Payment]]:
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=org_id)
        return invoice, list(s.scalars(select(Payment).where(Payment.invoice_id == invoice.id).order_by(Payment.id)))


def test_r32_the_invoice_is_issued_first_then_charged_then_the_outcome_is_recorded(uow, db_url):
    w, _ = _buy(uow)
    summary = run_billing(uow, as_of=NOV_2)
    invoice, [payment] = _invoice(uow, w.org_id)
    [(key, reference, amount, currency, succeeded)] = _charges(db_url)
    assert (invoice.status, invoice.amount_paid, summary.payments["succeeded"]) == ("paid", 12500, 1)
    assert (payment.status, payment.key, payment.reference) == ("succeeded", key, reference)
    assert (amount, currency, succeeded) == (12500, "EUR", 1)
    # organisation, billing date and attempt: never the invoice number, which a rollback hands on
    assert key == f"seatwise-{w.org_id}-20261102-charge-1" and invoice.number not in key


class Watched(SimulatedGateway):
    """The simulator, with a record of what it was asked."""

    def __init__(self, url: str, *faults: str) -> None:
        super().__init__(simulator_store(url))
        self.asked: list[str] = []
        self.arrange(*faults)

    def charge(self, **call) -> Outcome:
        self.asked.append("charge")
        return super().charge(**call)

    def find_charge(self, **call) -> Outcome | None:
        self.asked.append("find_charge")
        return super().find_charge(**call)


def test_r32_a_charge_whose_answer_was_lost_is_looked_up_and_never_made_again(uow, db_url):
    w, _ = _buy(uow)
    gateway = Watched(db_url, "fail_after_charge")
    summary = jobs.run_to_end(db_url, as_of=NOV_2, gateway=gateway)
    invoice, [payment] = _invoice(uow, w.org_id)
    [(_key, reference, *_)] = _charges(db_url)
    assert gateway.asked == ["charge", "find_charge"]  # the next pass asked what happened, and only that
    assert (summary.payments["unanswered"], summary.payments["succeeded"]) == (1, 1)
    assert (invoice.status, payment.status, payment.reference) == ("paid", "succeeded", reference)


def test_r32_a_call_that_never_reached_the_gateway_is_looked_up_then_made(uow, db_url):
    w, _ = _buy(uow)
    gateway = Watched(db_url, "timeout")
    jobs.run_to_end(db_url, as_of=NOV_2, gateway=gateway)
    assert gateway.asked == ["charge", "find_charge", "charge"]
    assert len(_charges(db_url)) == 1 and _invoice(uow, w.org_id)[0].status == "paid"


def test_r32_a_charge_left_unanswered_by_a_run_waits_for_the_next_run(uow, db_url):
    w, _ = _buy(uow)
    gateway = Watched(db_url, "fail_after_charge", "timeout")  # the look-up times out as well
    jobs.run_to_end(db_url, as_of=NOV_2, gateway=gateway)
    invoice, [payment] = _invoice(uow, w.org_id)
    assert (invoice.status, payment.status, payment.sent) == ("collecting", "pending", True)
    with uow() as s, pytest.raises(Refused) as refused:  # nobody may settle it by hand meanwhile
        billing.pay_invoice(s, invoice_id=invoice.id, actor=OPERATOR, now=NOV_2 + timedelta(hours=1))
    assert refused.value.code == "payment_in_progress"
    again = Watched(db_url)
    jobs.run_to_end(db_url, as_of=NOV_2, gateway=again)
    assert again.asked == ["find_charge"] and len(_charges(db_url)) == 1
    assert _invoice(uow, w.org_id)[0].status == "paid"


def test_r32_r21_each_retry_is_a_charge_of_its_own_key_and_a_hard_decline_is_not_retried(uow, db_url):
    soft, _ = _buy(uow, card=DECLINED)
    hard, _ = _buy(uow, card=EXPIRED, name="Fabrikam")
    run_billing(uow, as_of=NOV_2 + timedelta(days=10))
    keys = [key for key, *_ in _charges(db_url)]
    assert keys == sorted(
        [f"seatwise-{soft.org_id}-20261102-charge-{n}" for n in (1, 2, 3, 4)]
        + [f"seatwise-{hard.org_id}-20261102-charge-1"]
    )
    invoice, payments = _invoice(uow, hard.org_id)
    assert [(p.status, p.failure_code) for p in payments] == [("failed", "expired_card")]
    # waits for a new card until the dunning period ends (R21)
    assert (invoice.status, invoice.next_action_at) == ("open", NOV_2 + timedelta(days=30))


def test_r32_a_refund_returns_money_from_the_charge_it_refunds_once(uow, db_url):
    w, sub_id = _buy(uow)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:  # cancelled on day 3: 12500 × 27/30 = 11250 comes back on 1 December
        subscriptions.cancel(s, sub_id=sub_id, actor=w.billing_admin, now=datetime(2026, 11, 3, 10, tzinfo=UTC))
    run_billing(uow, as_of=datetime(2026, 12, 1, tzinfo=UTC))
    run_billing(uow, as_of=datetime(2026, 12, 1, tzinfo=UTC))
    [(charge, *_)] = [row[1:] for row in _charges(db_url)]
    with _store(db_url) as conn:
        refunds = conn.execute("SELECT key, charge, amount FROM refunds").fetchall()
    assert refunds == [(f"seatwise-{w.org_id}-SW-CN-2026-000001-refund-1", charge, 11250)]
    with uow() as s:
        [refund] = s.scalars(select(Payment).where(Payment.kind == "refund")).all()
        assert (refund.status, refund.refunds, refund.amount) == ("succeeded", charge, 11250)


def test_r32_the_simulator_answers_a_repeated_key_with_the_first_outcome_and_refuses_another_amount(tmp_path):
    gateway = SimulatedGateway(tmp_path / "gateway.sqlite3")
    card = {"customer": "sim_cus_1", "token": "sim_succeeds_4242", "metadata": {}}
    first = gateway.charge(amount=Money(500, "EUR"), key="k", **card)
    assert gateway.charge(amount=Money(500, "EUR"), key="k", **card) == first
    with pytest.raises(KeyReused):
        gateway.charge(amount=Money(501, "EUR"), key="k", **card)
    assert gateway.find_charge(customer="sim_cus_1", key="k") == first
    assert gateway.find_charge(customer="sim_cus_1", key="other") is None


# A write that needs every lock the billing run could hold: the organisation, its invoices and its payments.
_WRITE = """
import sys
url, org_id = sys.argv[1], int(sys.argv[2])
statements = [
    "UPDATE organizations SET name = name WHERE id = %(org)s",
    "UPDATE invoices SET due_at = due_at WHERE org_id = %(org)s",
    "UPDATE payments SET sent = sent WHERE org_id = %(org)s",
]
if url.startswith("postgresql"):
    import psycopg
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        conn.execute("SET lock_timeout = '3s'")
        for statement in statements:
            conn.execute(statement, {"org": org_id})
else:
    import sqlite3
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=3, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    for statement in statements:
        conn.execute(statement.replace("%(org)s", "?"), (org_id,))
    conn.execute("COMMIT")
"""


class WritesWhileCharging(SimulatedGateway):
    """A gateway that, before answering, waits for another process to write the rows of the organisation
    being charged: if the billing run held a lock on them, or SQLite's write lock, that write would time out."""

    def __init__(self, url: str) -> None:
        super().__init__(simulator_store(url))
        self.url, self.writes = make_url(url).render_as_string(hide_password=False), 0

    def charge(self, *, customer: str, token: str, amount: Money, key: str, metadata: Mapping[str, str]) -> Outcome:
        org_id = int(key.split("-")[1])
        done = subprocess.run(
            [sys.executable, "-c", _WRITE, self.url, str(org_id)], capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, f"a write beside the gateway call was blocked: {done.stderr[-300:]}"
        self.writes += 1
        return super().charge(customer=customer, token=token, amount=amount, key=key, metadata=metadata)


def test_r32_no_database_lock_is_held_while_the_gateway_is_called(uow, db_url):
    _buy(uow)
    _buy(uow, card=DECLINED, name="Fabrikam")
    gateway = WritesWhileCharging(db_url)
    summary = jobs.run_to_end(db_url, as_of=NOV_2 + timedelta(days=3), gateway=gateway)
    # two charges on issue, and the declined card's retry on day 3
    assert gateway.writes == 3
    assert (summary.payments["succeeded"], summary.payments["failed"], summary.payments["retry_failed"]) == (1, 1, 1)
