"""The billing run as a job: one commit per step, from the API, the CLI or the operator console (kept with
its progress)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from seatwise import db
from seatwise.billing.jobs import collect
from seatwise.billing_run import service
from seatwise.billing_run.models import BillingRun, RunStatus
from seatwise.billing_run.service import RunSummary
from seatwise.clock import Clock
from seatwise.db import get_existing
from seatwise.payments.gateway import Gateway
from seatwise.payments.gateways import gateway_for
from seatwise.subscriptions.models import Subscription


def run_to_end(
    url: str,
    *,
    as_of: datetime,
    gateway: Gateway | None = None,
    after_step: Callable[[Session, RunSummary], None] | None = None,
) -> RunSummary:
    """Everything due up to `as_of`, one commit per step, so that a run cut anywhere resumes where it stopped
    (R20); the cards each step has to charge are charged before the next, outside its transaction (R32).
    `after_step` sees each step's session and the summary so far."""
    gateway = gateway or gateway_for(url)
    summary = RunSummary(as_of=as_of)
    summary.payments.update(collect(url, gateway=gateway))  # what a killed run left unanswered
    while not summary.done:
        with db.unit_of_work(url) as session:
            summary.add(service.run_step(session, as_of=as_of))
            if after_step is not None:
                after_step(session, summary)
        summary.payments.update(collect(url, gateway=gateway))
    return summary


def start(session: Session, *, as_of: datetime, started_by: str, now: datetime) -> BillingRun:
    """Record a run up to `as_of` (no later than now), counting the subscriptions it has to handle."""
    service.check_as_of(as_of=as_of, now=now)
    due = session.scalar(select(func.count()).select_from(Subscription).where(Subscription.next_event_at <= as_of))
    run = BillingRun(
        as_of=as_of,
        started_at=now,
        started_by=started_by,
        status=RunStatus.RUNNING,
        due=due,
        subscriptions=0,
        invoices=0,
    )
    session.add(run)
    session.flush()
    return run


def perform(url: str, *, run_id: int, clock: Clock) -> None:
    """Do the recorded run step by step, writing its progress after each step; a failure is recorded too."""
    with db.read_only(url) as session:
        as_of = get_existing(session, BillingRun, run_id).as_of

    def progress(session: Session, summary: RunSummary) -> None:
        run = get_existing(session, BillingRun, run_id)
        run.subscriptions, run.invoices = summary.subscriptions, summary.invoices
        if summary.done:
            run.status, run.finished_at = RunStatus.DONE, clock.now()

    try:
        run_to_end(url, as_of=as_of, after_step=progress)
    except Exception as exc:  # noqa: BLE001  the console shows what stopped the run; a new run resumes it
        with db.unit_of_work(url) as session:
            run = get_existing(session, BillingRun, run_id)
            run.status, run.finished_at = RunStatus.FAILED, clock.now()
            run.error = f"{type(exc).__name__}: {exc}"[:300]


def recent(session: Session, *, limit: int = 20) -> list[BillingRun]:
    """The latest runs started from the console, newest first."""
    return list(session.scalars(select(BillingRun).order_by(BillingRun.id.desc()).limit(limit)))
