"""The billing run (R19): every lifecycle transition due up to `as_of`, in order, idempotently."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from seatwise.core.lifecycle import Event, Status, next_transition
from seatwise.core.roles import SYSTEM_BILLING_RUN
from seatwise.events import service as audit
from seatwise.licenses.service import release_all
from seatwise.payments.service import has_payment_method
from seatwise.subscriptions import service as subscriptions
from seatwise.subscriptions.models import Subscription


@dataclass
class RunSummary:
    as_of: datetime
    subscriptions: int = 0
    transitions: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(),
            "subscriptions": self.subscriptions,
            "transitions": {event.value: self.transitions.get(event, 0) for event in Event
                            if event in _RUN_EVENTS},
        }


_RUN_EVENTS = (Event.CONVERTED, Event.RENEWED, Event.EXPIRED, Event.DISABLED, Event.DELETED)


def due(session: Session, *, as_of: datetime) -> list[Subscription]:
    """Subscriptions with something due at or before `as_of`, locked; other workers skip them."""
    query = (
        select(Subscription)
        .where(Subscription.next_event_at.is_not(None), Subscription.next_event_at <= as_of)
        .order_by(Subscription.next_event_at, Subscription.id)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def run(session: Session, *, as_of: datetime) -> RunSummary:
    """Perform every transition due up to `as_of` for every subscription, oldest first.

    Each subscription is re-read and re-checked ("is this still due?"), so running again
    for the same `as_of` finds nothing to do.
    """
    summary = RunSummary(as_of=as_of)
    payment_method_cache: dict[int, bool] = {}
    for sub in due(session, as_of=as_of):
        if sub.org_id not in payment_method_cache:
            payment_method_cache[sub.org_id] = has_payment_method(session, org_id=sub.org_id)
        summary.subscriptions += 1
        state = subscriptions.lifecycle_of(sub)
        while (step := next_transition(state, as_of=as_of, has_payment_method=payment_method_cache[sub.org_id])):
            before = audit.snapshot(sub)
            subscriptions.apply_lifecycle(sub, step.after, now=step.at)
            if step.after.status is Status.DELETED:
                release_all(session, sub=sub, actor=SYSTEM_BILLING_RUN, now=step.at)
            audit.record(session, actor=SYSTEM_BILLING_RUN, action=f"subscription.{step.event.value}", row=sub,
                         org_id=sub.org_id, before=before, at=step.at)
            summary.transitions[step.event] += 1
            state = step.after
    return summary
