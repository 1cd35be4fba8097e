"""The audit log (every state change, with who, what, when, before and after) and the event outbox
(the changes customers hear of through `GET /v1/events` and webhooks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from seatwise.db import bulk_insert
from seatwise.events.models import AuditEntry, Event

# What customers may hear of. Renewals are left out on purpose: they are nearly all of a billing
# run's work, and each shows up as a line of the `invoice.issued` that follows.
EVENT_TYPES = frozenset(
    {
        "subscription.trial_started",
        "subscription.started",
        "subscription.converted",
        "subscription.canceled",
        "subscription.expired",
        "subscription.disabled",
        "subscription.reactivated",
        "subscription.deleted",
        "licenses.changed",
        "license.assigned",
        "license.unassigned",
        "invoice.issued",
        "invoice.paid",
        "credit.issued",
        "credit.settled",
        "credit_note.issued",
        "payment.failed",
    }
)
_OBJECTS = {"subscriptions": "subscription", "assignments": "license", "invoices": "invoice"}


PUBLISHED = "published_events"  # the session's events not yet told, by `take_published`


def snapshot(row: Any) -> dict[str, Any]:
    """A JSON-ready copy of a mapped row's columns."""
    data = {}
    for attr in inspect(row).mapper.column_attrs:
        value = getattr(row, attr.key)
        data[attr.key] = value.isoformat() if isinstance(value, datetime) else value
    data.pop("password_hash", None)
    data.pop("token", None)
    return data


def audit_change(
    session: Session,
    *,
    actor: str,
    action: str,
    row: Any,
    org_id: int | None,
    before: dict[str, Any] | None,
    at: datetime,
    extra: dict[str, Any] | None = None,
) -> AuditEntry:
    """Audit a change of `row` (flushed first, so that it has an id) as it is now, with `extra` facts of the
    change (a credit, a charge); an action customers hear of goes to the outbox with the same data."""
    session.flush()
    return audit_entry(
        session,
        actor=actor,
        action=action,
        entity=row.__tablename__,
        entity_id=row.id,
        org_id=org_id,
        before=before,
        after={**snapshot(row), **(extra or {})},
        at=at,
    )


def audit_entry(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: int,
    org_id: int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    at: datetime,
) -> AuditEntry:
    """Audit a change as given (of a row that no longer exists, say); to the outbox too, as `audit_change`."""
    entry = AuditEntry(
        at=at, actor=actor, org_id=org_id, action=action, entity=entity, entity_id=entity_id, before=before, after=after
    )
    session.add(entry)
    if action in EVENT_TYPES and org_id is not None:
        data = {"object": _OBJECTS.get(entity, entity), **(after or before or {"id": entity_id})}
        if before and after:
            data["previous_attributes"] = {k: v for k, v in before.items() if after.get(k) != v}
        publish(session, type=action, org_id=org_id, data=data, at=at)
    return entry


def publish(session: Session, *, type: str, org_id: int, data: dict[str, Any], at: datetime) -> None:
    """Write one event into the outbox only (no audit entry), in the caller's transaction."""
    session.add(Event(org_id=org_id, type=type, occurred_at=at, data=data, dispatched=False))
    session.info.setdefault(PUBLISHED, []).append(dict(org_id=org_id, type=type, occurred_at=at, data=data))


def publish_many(session: Session, events: list[dict[str, Any]]) -> None:
    """Write many events (dicts of org_id, type, occurred_at, data) into the outbox at once: the billing run's path."""
    bulk_insert(session, Event.__table__, [dict(e, dispatched=False) for e in events])
    session.info.setdefault(PUBLISHED, []).extend(events)


def has_published(session: Session) -> bool:
    """Whether this transaction has published events that nobody has taken yet."""
    return bool(session.info.get(PUBLISHED))


def take_published(session: Session) -> list[dict[str, Any]]:
    """The events this transaction published since the last call, oldest first: for those who tell people of
    them in the same transaction (billing e-mail, R27)."""
    return session.info.pop(PUBLISHED, [])


def list_events(
    session: Session, *, org_id: int | None, after: int | None, limit: int, type: str | None = None
) -> list[Event]:
    """Events oldest first after the event id `after`; one organisation's, or all for `org_id=None`."""
    query = select(Event).order_by(Event.id).limit(limit)
    if org_id is not None:
        query = query.where(Event.org_id == org_id)
    if after is not None:
        query = query.where(Event.id > after)
    if type is not None:
        query = query.where(Event.type == type)
    return list(session.scalars(query))


def entries(
    session: Session, *, org_id: int | None = None, entity: str | None = None, entity_id: int | None = None
) -> list[AuditEntry]:
    """Audit entries, oldest first, optionally for one organisation or one record."""
    query = select(AuditEntry).order_by(AuditEntry.id)
    if org_id is not None:
        query = query.where(AuditEntry.org_id == org_id)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    return list(session.scalars(query))


def latest(
    session: Session, *, org_id: int | None = None, before_id: int | None = None, limit: int = 100
) -> list[AuditEntry]:
    """One page of audit entries, newest first, older than `before_id` when given."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if org_id is not None:
        query = query.where(AuditEntry.org_id == org_id)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query))
