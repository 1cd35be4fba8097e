"""The billing run started from the operator console: progress recorded, one commit per step, R20 still holds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from seatwise import db
from seatwise.billing.models import Invoice
from seatwise.billing_run import jobs
from seatwise.billing_run import service as billing_run
from seatwise.billing_run.models import BillingRun
from seatwise.clock import FixedClock
from seatwise.core.errors import BadInput
from seatwise.core.roles import OPERATOR
from seatwise.subscriptions import service as subscriptions
from tests.conftest import T0
from tests.factories import run_billing, world

LATER = T0 + timedelta(days=65)


def _two_renewing_subscriptions(uow) -> None:
    with uow() as s:
        w = world(s, now=T0, users=0)
        for seats in (2, 3):
            subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=seats, actor=OPERATOR, now=T0)


def test_r19_a_console_run_records_what_was_due_and_finishes_with_the_same_invoices_as_the_cli(uow, db_url):
    _two_renewing_subscriptions(uow)
    with uow() as s:
        run = jobs.start(s, as_of=LATER, started_by="operator:1", now=LATER)
        assert (run.status, run.due) == ("running", 2)
    jobs.perform(db_url, run_id=run.id, clock=FixedClock(LATER + timedelta(seconds=5)))
    with db.read_only(db_url) as s:
        done = s.get(BillingRun, run.id)
        assert (done.status, done.subscriptions, done.finished_at) == ("done", 2, LATER + timedelta(seconds=5))
        assert done.invoices == s.scalar(select(func.count()).select_from(Invoice)) == 3  # 1 Nov, 1 Dec, 1 Jan
    # R20: a second run finds nothing left to do.
    assert run_billing(uow, as_of=LATER).subscriptions == 0


def test_a_run_as_of_a_later_time_than_now_is_refused(uow):
    with uow() as s, pytest.raises(BadInput, match="later than now"):
        jobs.start(s, as_of=T0 + timedelta(days=1), started_by="operator:1", now=T0)


def test_a_run_that_fails_is_shown_as_failed_with_the_reason_and_keeps_its_committed_steps(uow, db_url, monkeypatch):
    _two_renewing_subscriptions(uow)
    with uow() as s:
        run_id = jobs.start(s, as_of=LATER, started_by="operator:1", now=LATER).id
    real_step, calls = billing_run.run_step, []

    def step_then_fail(session, **kwargs):  # the database going away after the first step, say
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("connection lost")
        return real_step(session, **kwargs)

    monkeypatch.setattr(billing_run, "run_step", step_then_fail)
    jobs.perform(db_url, run_id=run_id, clock=FixedClock(LATER))
    with db.read_only(db_url) as s:
        run = s.get(BillingRun, run_id)
        assert (run.status, run.error) == ("failed", "RuntimeError: connection lost")
        assert s.scalar(select(func.count()).select_from(Invoice)) >= 1  # the first step's commit stays
