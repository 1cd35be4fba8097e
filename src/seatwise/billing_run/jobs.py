"""The billing run as a job: one commit per step, from the API, the CLI or the operator console (kept with
its progress)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from seatwise import db
from seatwise.billing import collection
from seatwise.billing.collection import GatewayCall
from seatwise.billing_run import service
from seatwise.billing_run.models import BillingRun, RunStatus
from seatwise.billing_run.service import RunSummary
from seatwise.clock import Clock
from seatwise.core.invoicing import PaymentKind
from seatwise.db import get_existing
from seatwise.payments.gateway import Gateway, GatewayUnavailable, Outcome
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


def collect(url: str, *, gateway: Gateway) -> Counter[str]:
    """Make every gateway call that payment rows wait for (R32), each claimed for this process, with no
    transaction open while the gateway works; what they did, for the run's summary. A call the gateway
    does not answer stays pending and is looked up first next time."""
    done: Counter[str] = Counter()
    after = 0
    while True:
        with db.read_only(url) as session:
            waiting = collection.pending(session, after=after)
        if not waiting:
            return done
        after = waiting[-1]
        for payment_id in waiting:
            with db.claimed_for_this_process(url, "payment", payment_id) as mine:
                if not mine:
                    continue  # another worker is calling the gateway for it
                with db.unit_of_work(url) as session:
                    call = collection.claim(session, payment_id=payment_id)
                if call is None:
                    continue
                try:
                    outcome = _ask(gateway, call)
                except GatewayUnavailable:
                    done["unanswered"] += 1
                    continue
                with db.unit_of_work(url) as session:
                    if (what := collection.answered(session, payment_id=payment_id, outcome=outcome)) is not None:
                        done[what] += 1


def _ask(gateway: Gateway, call: GatewayCall) -> Outcome:
    """The gateway's outcome for a call: looked up first if an earlier try may have reached it."""
    if call.kind == PaymentKind.REFUND:
        found = (
            gateway.find_refund(customer=call.customer, charge=call.refunds or "", key=call.key)
            if call.look_up
            else None
        )
        return found or gateway.refund(
            customer=call.customer, charge=call.refunds or "", amount=call.amount, key=call.key
        )
    found = gateway.find_charge(customer=call.customer, key=call.key) if call.look_up else None
    return found or gateway.charge(
        customer=call.customer,
        token=call.token,
        amount=call.amount,
        key=call.key,
        metadata={"seatwise_invoice": call.invoice_number},
    )


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
