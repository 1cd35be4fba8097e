"""The billing run as a background job of the operator console: one commit per step, progress kept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from seatwise import db
from seatwise.billing import service as billing
from seatwise.billing.models import BillingRun
from seatwise.clock import Clock
from seatwise.core.errors import BadInput
from seatwise.subscriptions.models import Subscription


def start(session, *, as_of: datetime, started_by: str, now: datetime) -> BillingRun:
    """Record a run up to `as_of` (no later than now), counting the subscriptions it has to handle."""
    if as_of > now:
        raise BadInput(f"as of {as_of.isoformat()} is later than now: expected a time up to now",
                       code="as_of_in_future")
    due = session.scalar(select(func.count()).select_from(Subscription).where(Subscription.next_event_at <= as_of))
    run = BillingRun(as_of=as_of, started_at=now, started_by=started_by, status="running", due=due,
                     subscriptions=0, invoices=0)
    session.add(run)
    session.flush()
    return run


def perform(url: str, *, run_id: int, clock: Clock) -> None:
    """Do the recorded run step by step, writing its progress after each step; a failure is recorded too."""
    with db.read_only(url) as session:
        as_of = session.get(BillingRun, run_id).as_of
    summary = billing.RunSummary(as_of=as_of)
    try:
        while not summary.done:
            with db.unit_of_work(url) as session:
                summary.add(billing.run_step(session, as_of=as_of))
                run = session.get(BillingRun, run_id)
                run.subscriptions, run.invoices = summary.subscriptions, summary.invoices
                if summary.done:
                    run.status, run.finished_at = "done", clock.now()
    except Exception as exc:  # noqa: BLE001  the console shows what stopped the run; a new run resumes it
        with db.unit_of_work(url) as session:
            run = session.get(BillingRun, run_id)
            run.status, run.finished_at = "failed", clock.now()
            run.error = f"{type(exc).__name__}: {exc}"[:300]


def recent(session, *, limit: int = 20) -> list[BillingRun]:
    """The latest runs started from the console, newest first."""
    return list(session.scalars(select(BillingRun).order_by(BillingRun.id.desc()).limit(limit)))
