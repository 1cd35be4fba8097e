"""The billing run (R19): every lifecycle transition due up to `as_of`, in order, idempotently."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from seatwise.core.lifecycle import Event
from seatwise.subscriptions import service as subscriptions
from seatwise.subscriptions.models import Subscription

RUN_EVENTS = (Event.CONVERTED, Event.RENEWED, Event.EXPIRED, Event.DISABLED, Event.DELETED)


@dataclass
class RunSummary:
    """What one billing run did."""

    as_of: datetime
    subscriptions: int = 0
    transitions: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        """The summary as JSON-ready data."""
        return {
            "as_of": self.as_of.isoformat(),
            "subscriptions": self.subscriptions,
            "transitions": {event.value: self.transitions.get(event, 0) for event in RUN_EVENTS},
        }


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
    for sub in due(session, as_of=as_of):
        summary.subscriptions += 1
        for step in subscriptions.catch_up(session, sub=sub, now=as_of):
            summary.transitions[step.event] += 1
    return summary
