"""Customer organisations and their users."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from seatwise import bus
from seatwise.core.domain_events import PasswordChanged, UserRemoved, UserRestored
from seatwise.core.errors import BadInput, ErrorCode, NotFound, Refused
from seatwise.core.licenses import can_restore
from seatwise.core.money import check_currency
from seatwise.core.roles import (
    OPERATOR,
    Actor,
    Permission,
    Role,
    can_see,
    check_removal,
    require,
    require_user_management,
)
from seatwise.core.text import email_address, required_text
from seatwise.db import load, page
from seatwise.events import service as events
from seatwise.i18n import LOCALES
from seatwise.organizations.models import Organization, User
from seatwise.passwords import hash_password


def add_org(session: Session, *, name: str, currency: str, locale: str, now: datetime) -> Organization:
    """Add a customer organisation."""
    name = required_text(name, field="name", max_length=200)
    if locale not in LOCALES:
        raise BadInput(
            f"invalid locale {locale!r}: expected one of {', '.join(LOCALES)}", code=ErrorCode.INVALID_LOCALE
        )
    org = Organization(name=name, currency=check_currency(currency), locale=locale, created_at=now)
    session.add(org)
    session.flush()
    events.audit_change(
        session, actor=OPERATOR.label, action="organization.added", row=org, org_id=org.id, before=None, at=now
    )
    return org


def get_org(session: Session, *, org_id: int) -> Organization:
    """The organisation with this id, or NotFound."""
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound(f"unknown organisation {org_id}", code=ErrorCode.UNKNOWN_ORG)
    return org


def check_visible_org(*, org_id: int, actor: Actor) -> None:
    """Another organisation answers as a missing one does (R9)."""
    if not can_see(actor, org_id):
        raise NotFound(f"unknown organisation {org_id}", code=ErrorCode.UNKNOWN_ORG)


def list_orgs(session: Session) -> list[Organization]:
    """Every organisation, oldest first."""
    return list(session.scalars(select(Organization).order_by(Organization.id)))


def get_user(session: Session, *, user_id: int, lock: bool = False) -> User:
    """The user with this id (row-locked for an update when `lock`), or NotFound."""
    user = load(session, User, user_id, lock=lock)
    if user is None:
        raise NotFound(f"unknown user {user_id}", code=ErrorCode.UNKNOWN_USER)
    return user


def get_visible_user(session: Session, *, user_id: int, actor: Actor) -> User:
    """A user the actor may see: another organisation's answers as a missing one does (R9)."""
    user = get_user(session, user_id=user_id)
    if not can_see(actor, user.org_id):
        raise NotFound(f"unknown user {user_id}", code=ErrorCode.UNKNOWN_USER)
    return user


def list_users(session: Session, *, org_id: int, after: int | None = None, limit: int | None = None) -> list[User]:
    """Users of one organisation, removed ones included, oldest first (after the id `after`, at most `limit`)."""
    get_org(session, org_id=org_id)
    return list(session.scalars(page(select(User).where(User.org_id == org_id), User.id, after=after, limit=limit)))


def add_user(
    session: Session, *, org_id: int, email: str, name: str | None, role: str, actor: Actor, now: datetime
) -> User:
    """Add a user to an organisation, with an admin role or none."""
    get_org(session, org_id=org_id)
    require(actor, Permission.MANAGE_USERS, org_id)
    if role not in set(Role):
        raise BadInput(f"invalid role {role!r}: expected one of {', '.join(Role)}", code=ErrorCode.INVALID_ROLE)
    require_user_management(actor, Role(role), org_id)
    email = email_address(email)
    # Unique within the organisation only: another organisation's addresses are none of its business (issue 11).
    if session.scalar(select(User.id).where(User.org_id == org_id, User.email == email)) is not None:
        raise BadInput(
            f"e-mail {email} is already in use in this organisation: expected a new address",
            code=ErrorCode.DUPLICATE_EMAIL,
        )
    name = required_text(name or email.split("@")[0], field="name", max_length=200)
    user = User(org_id=org_id, email=email, name=name, role=role, created_at=now)
    session.add(user)
    events.audit_change(session, actor=actor.label, action="user.added", row=user, org_id=org_id, before=None, at=now)
    return user


def remove_user(session: Session, *, user_id: int, actor: Actor, now: datetime) -> User:
    """Remove a user: their licences are freed, the seats stay paid for (R13)."""
    user = get_user(session, user_id=user_id, lock=True)
    require_user_management(actor, Role(user.role), user.org_id)
    if user.removed_at is not None:
        raise Refused(f"user {user_id} was already removed", code=ErrorCode.ALREADY_REMOVED)
    global_admins = session.execute(
        select(func.count())
        .select_from(User)
        .where(User.org_id == user.org_id, User.role == Role.GLOBAL_ADMIN, User.removed_at.is_(None))
    ).scalar_one()
    check_removal(actor, user_id=user.id, role=Role(user.role), global_admins=global_admins)
    before = events.snapshot(user)
    user.removed_at = now
    bus.record(session, UserRemoved(user_id=user.id, org_id=user.org_id, actor=actor, at=now))
    events.audit_change(
        session, actor=actor.label, action="user.removed", row=user, org_id=user.org_id, before=before, at=now
    )
    return user


def restore_user(session: Session, *, user_id: int, actor: Actor, now: datetime) -> User:
    """Restore a user removed less than 30 days ago, with the licences that still have a free seat (R13)."""
    user = get_user(session, user_id=user_id, lock=True)
    require_user_management(actor, Role(user.role), user.org_id)
    if user.removed_at is None:
        raise Refused(f"user {user_id} is not removed", code=ErrorCode.NOT_REMOVED)
    if not can_restore(removed_at=user.removed_at, now=now):
        raise Refused(
            f"user {user_id} was removed more than 30 days ago and cannot be restored",
            code=ErrorCode.RESTORE_WINDOW_PASSED,
        )
    before = events.snapshot(user)
    user.removed_at = None
    bus.record(session, UserRestored(user_id=user.id, org_id=user.org_id, actor=actor, at=now))
    events.audit_change(
        session, actor=actor.label, action="user.restored", row=user, org_id=user.org_id, before=before, at=now
    )
    return user


def set_password(session: Session, *, user_id: int, password: str, now: datetime) -> User:
    """Set the password an admin signs in to the admin center with (users who hold licences have none)."""
    user = get_user(session, user_id=user_id, lock=True)
    if user.role == Role.USER:
        raise Refused(
            f"user {user_id} holds licences but is not an admin, so never signs in: give them an admin role first",
            code=ErrorCode.NOT_AN_ADMIN,
        )
    before = events.snapshot(user)
    user.password_hash = hash_password(password)
    bus.record(session, PasswordChanged(user_id=user.id, at=now))
    events.audit_change(
        session, actor=OPERATOR.label, action="user.password_set", row=user, org_id=user.org_id, before=before, at=now
    )
    return user


def resolve_actor(session: Session, *, who: str) -> Actor:
    """`operator`, or a user id or e-mail of an active user, as the one acting."""
    who = (who or "").strip()
    if who == "operator":
        return OPERATOR
    if who.isdigit():
        user = session.get(User, int(who))
    else:
        found = session.scalars(select(User).where(User.email == who.lower(), User.removed_at.is_(None))).all()
        if len(found) > 1:
            raise NotFound(
                f"e-mail {who!r} belongs to users of {len(found)} organisations: expected the user's id",
                code=ErrorCode.UNKNOWN_ACTOR,
            )
        user = found[0] if found else None
    if user is None or user.removed_at is not None:
        raise NotFound(
            f"unknown user {who!r}: expected `operator`, or the id or e-mail of an active user",
            code=ErrorCode.UNKNOWN_ACTOR,
        )
    return Actor(role=Role(user.role), org_id=user.org_id, user_id=user.id)
