"""The audit log: every state change, with who, what, when, before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from seatwise.events.models import AuditEntry


def snapshot(row: Any) -> dict[str, Any]:
    """A JSON-ready copy of a mapped row's columns."""
    data = {}
    for attr in inspect(row).mapper.column_attrs:
        value = getattr(row, attr.key)
        data[attr.key] = value.isoformat() if isinstance(value, datetime) else value
    data.pop("password_hash", None)
    data.pop("token", None)
    return data


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    row: Any,
    org_id: int | None,
    before: dict[str, Any] | None,
    at: datetime,
) -> AuditEntry:
    """Append one audit entry for `row` as it is now (flushing it first so that it has an id)."""
    session.flush()
    return append(session, actor=actor, action=action, entity=row.__tablename__, entity_id=row.id,
                  org_id=org_id, before=before, after=snapshot(row), at=at)


def append(
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
    """Append one audit entry as given (for rows that no longer exist, say)."""
    entry = AuditEntry(at=at, actor=actor, org_id=org_id, action=action, entity=entity, entity_id=entity_id,
                       before=before, after=after)
    session.add(entry)
    return entry


def entries(session: Session, *, org_id: int | None = None, entity: str | None = None,
            entity_id: int | None = None) -> list[AuditEntry]:
    """Audit entries, oldest first, optionally for one organisation or one record."""
    query = select(AuditEntry).order_by(AuditEntry.id)
    if org_id is not None:
        query = query.where(AuditEntry.org_id == org_id)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    return list(session.scalars(query))


def latest(session: Session, *, org_id: int | None = None, before_id: int | None = None,
           limit: int = 100) -> list[AuditEntry]:
    """One page of audit entries, newest first, older than `before_id` when given."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if org_id is not None:
        query = query.where(AuditEntry.org_id == org_id)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query))
