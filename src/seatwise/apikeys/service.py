"""Making, listing, revoking and checking API keys."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from seatwise.apikeys.models import ApiKey
from seatwise.core.errors import BadInput, ErrorCode, NotFound, Refused
from seatwise.core.roles import OPERATOR, Actor, Role
from seatwise.events import service as events
from seatwise.organizations.models import User
from seatwise.organizations.service import get_org, get_user

PREFIX = "sw_"


def _hash(key: str) -> str:
    # Keys are 256 random bits, so a plain SHA-256 is enough (no password stretching needed).
    return hashlib.sha256(key.encode()).hexdigest()


def create(
    session: Session, *, operator: bool, org_id: int | None, as_user: int | None, now: datetime
) -> tuple[ApiKey, str]:
    """A new key, the operator's or acting as an admin of one organisation; returns it with the key itself."""
    if (org_id is not None or as_user is not None) if operator else (org_id is None or as_user is None):
        raise BadInput(
            "a key is the operator's, or acts as one admin of one organisation: expected either, not both",
            code=ErrorCode.INVALID_API_KEY_OWNER,
        )
    if not operator:
        assert org_id is not None and as_user is not None  # a key that is not the operator's has both, as checked above
        get_org(session, org_id=org_id)
        user = get_user(session, user_id=as_user)
        if user.org_id != org_id or user.removed_at is not None:
            raise BadInput(
                f"user {as_user} is not an active user of organisation {org_id}: expected one of its admins",
                code=ErrorCode.USER_OF_ANOTHER_ORG,
            )
        if user.role == Role.USER:
            raise Refused(
                f"user {as_user} holds licences but is not an admin: a key acts with an admin's role",
                code=ErrorCode.NOT_AN_ADMIN,
            )
    key = PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(key_hash=_hash(key), prefix=key[:10], org_id=org_id, user_id=as_user, created_at=now)
    session.add(row)
    events.audit_change(
        session, actor=OPERATOR.label, action="api_key.created", row=row, org_id=org_id, before=None, at=now
    )
    return row, key


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, revoked ones included, oldest first."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke(session: Session, *, key_id: int, now: datetime) -> ApiKey:
    """Stop a key from working, at once and for good."""
    row = session.get(ApiKey, key_id, with_for_update=True)
    if row is None:
        raise NotFound(f"unknown API key {key_id}", code=ErrorCode.UNKNOWN_API_KEY)
    if row.revoked_at is not None:
        raise Refused(f"API key {key_id} was already revoked", code=ErrorCode.ALREADY_REVOKED)
    before = events.snapshot(row)
    row.revoked_at = now
    events.audit_change(
        session, actor=OPERATOR.label, action="api_key.revoked", row=row, org_id=row.org_id, before=before, at=now
    )
    return row


def actor_for(session: Session, *, key: str | None) -> Actor | None:
    """Who a key acts as: the operator, or its admin with their present role; None for a wrong or revoked key,
    or one whose admin has been removed."""
    if not key or not key.startswith(PREFIX):
        return None
    # One query, every request: the key with its admin as they are now.
    row = session.execute(
        select(ApiKey.user_id, User.role, User.org_id, User.removed_at)
        .outerjoin(User, User.id == ApiKey.user_id)
        .where(ApiKey.key_hash == _hash(key), ApiKey.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    if row.user_id is None:
        return OPERATOR
    if row.removed_at is not None or row.role == Role.USER:
        return None
    return Actor(role=Role(row.role), org_id=row.org_id, user_id=row.user_id)
