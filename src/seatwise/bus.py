"""Domain events in the unit of work: a service records what happened, and the handlers registered
for it (in `seatwise.handlers`, the one place that says who reacts to what) run at once, in the same
transaction, before the commit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from seatwise.core.domain_events import DomainEvent

E = TypeVar("E")
Handler = Callable[[Session, Any], None]

_HANDLERS: dict[type, list[Handler]] = defaultdict(list)


def register(event_type: type[E], handler: Callable[[Session, E], None]) -> None:
    """Let `handler` react to every event of `event_type`."""
    _HANDLERS[event_type].append(handler)


def record(session: Session, event: DomainEvent) -> None:
    """Collect `event` in the session's unit of work and run its handlers in the same transaction."""
    session.info.setdefault("domain_events", []).append(event)
    handlers = _HANDLERS.get(type(event))
    if not handlers:
        # Nobody reacting would silently skip a rule (licences left held, sessions left open).
        raise LookupError(f"no handler for {type(event).__name__}: the process must import seatwise.handlers")
    for handler in handlers:
        handler(session, event)


def recorded(session: Session) -> list[DomainEvent]:
    """The domain events recorded so far in this session's unit of work."""
    return list(session.info.get("domain_events", []))
