"""Operators, admin center sessions and sign-in: who may open a session, and who a session is."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from seatwise import db
from seatwise.accounts.models import Operator, Setting, SignInAttempts, WebSession
from seatwise.core.errors import BadInput, ErrorCode, Refused
from seatwise.core.roles import OPERATOR, Actor, Role
from seatwise.core.signin import Attempts
from seatwise.core.text import email_address, required_text
from seatwise.db import get_existing
from seatwise.events import service as events
from seatwise.i18n import LOCALES
from seatwise.organizations.models import User
from seatwise.passwords import hash_password, verify_password

LIFETIME = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is signed in: a customer admin or an operator, with the session's CSRF token."""

    actor: Actor
    name: str
    email: str
    locale: str | None
    csrf_token: str
    user_id: int | None = None
    operator_id: int | None = None

    @property
    def org_id(self) -> int | None:
        return self.actor.org_id


def add_operator(session: Session, *, email: str, name: str | None, password: str, now: datetime) -> Operator:
    """Add an operator account for the operator console."""
    email = email_address(email)
    if session.scalar(select(Operator.id).where(Operator.email == email)) is not None:
        raise BadInput(f"e-mail {email} is already in use: expected a new address", code=ErrorCode.DUPLICATE_EMAIL)
    op = Operator(
        email=email,
        name=required_text(name or email.split("@")[0], field="name", max_length=200),
        password_hash=hash_password(password),
        created_at=now,
    )
    session.add(op)
    session.flush()
    events.audit_change(
        session, actor=OPERATOR.label, action="operator.added", row=op, org_id=None, before=None, at=now
    )
    return op


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(session: Session, *, email: str, password: str, operator: bool, now: datetime) -> str | None:
    """Check the password and open a session: its secret token, or None for a wrong password.

    Five wrong passwords in a row lock the address for 15 minutes, whether or not it exists; the
    count is written, so the caller commits a failure as well as a success.
    """
    email = (email or "").strip().lower()[:254]
    if not email or not password:
        return None
    row = _attempts_of(session, email)
    attempts = Attempts(row.failures, row.locked_until)
    if attempts.locked(now):
        raise Refused(
            "too many wrong passwords: try again in 15 minutes",
            code=ErrorCode.SIGNIN_LOCKED,
            detail=attempts.locked_until,
        )
    account: Operator | User | None
    if operator:
        account = session.scalar(select(Operator).where(Operator.email == email))
    else:
        account = session.scalar(select(User).where(User.email == email))
        if account is not None and (account.removed_at is not None or account.role == Role.USER):
            account = None  # users who hold licences, and removed admins, never sign in
    # With no usable account the dummy hash is checked: a wrong address takes as long as a wrong password.
    if not verify_password(account.password_hash if account is not None else None, password) or account is None:
        attempts = attempts.after_failure(now)
        row.failures, row.locked_until = attempts.failures, attempts.locked_until
        return None
    session.delete(row)
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=_hash(token),
            user_id=None if operator else account.id,
            operator_id=account.id if operator else None,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + LIFETIME,
        )
    )
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    return token


def _attempts_of(session: Session, email: str) -> SignInAttempts:
    # The row exists before it is locked, so that parallel guesses at a new address queue on it
    # instead of each counting from zero.
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(SignInAttempts).values(email=email, failures=0).on_conflict_do_nothing())
    return session.scalars(
        select(SignInAttempts)
        .where(SignInAttempts.email == email)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def end_sessions(session: Session, *, user_id: int) -> None:
    """Sign a user out everywhere (their password changed)."""
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))


def principal(session: Session, *, token: str, now: datetime) -> Principal | None:
    """The person signed in with this session token, or None when it is unknown or expired."""
    web = session.get(WebSession, _hash(token))
    if web is None or web.expires_at <= now:
        return None
    if web.operator_id is not None:
        op = get_existing(session, Operator, web.operator_id)
        return Principal(OPERATOR, op.name, op.email, op.locale, web.csrf_token, operator_id=op.id)
    user = get_existing(session, User, web.user_id)
    if user.removed_at is not None or user.role == Role.USER:
        return None
    return Principal(
        Actor(role=Role(user.role), org_id=user.org_id, user_id=user.id),
        user.name,
        user.email,
        user.locale,
        web.csrf_token,
        user_id=user.id,
    )


def sign_out(session: Session, *, token: str) -> None:
    """End the session of this token, so that a copy of its cookie no longer works."""
    session.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))


@lru_cache(maxsize=8)
def installation_key(url: str) -> str:
    """A secret made once per installation and kept in its database, so that every process agrees on it."""
    # Its own transaction: a page that only reads must still find the key it will check cookies with.
    for _ in range(2):
        try:
            with db.unit_of_work(url) as session:
                row = session.get(Setting, "session_key")
                if row is None:
                    row = Setting(key="session_key", value=secrets.token_urlsafe(48))
                    session.add(row)
                return row.value
        except IntegrityError:  # another process made it first: read theirs
            continue
    raise RuntimeError("could not read or create the installation key")


def set_language(session: Session, *, who: Principal, locale: str, now: datetime) -> None:
    """Remember the signed-in person's language for every page of the admin center."""
    if locale not in LOCALES:
        raise BadInput(
            f"invalid language {locale!r}: expected one of {', '.join(LOCALES)}", code=ErrorCode.INVALID_LOCALE
        )
    account: Operator | User = (
        get_existing(session, Operator, who.operator_id)
        if who.actor.is_operator
        else get_existing(session, User, who.user_id)
    )
    before = events.snapshot(account)
    account.locale = locale
    events.audit_change(
        session,
        actor=who.actor.label,
        action=f"{'operator' if who.actor.is_operator else 'user'}.language_changed",
        row=account,
        org_id=who.org_id,
        before=before,
        at=now,
    )
