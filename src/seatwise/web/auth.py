"""Sign-in, sessions and CSRF tokens of the admin center."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from seatwise import db
from seatwise.core.errors import BadInput, Refused
from seatwise.core.roles import OPERATOR, Actor, Role
from seatwise.core.signin import Attempts
from seatwise.core.text import required_text
from seatwise.events import service as audit
from seatwise.organizations.models import User
from seatwise.organizations.service import EMAIL
from seatwise.passwords import hash_password, verify_password
from seatwise.web.models import Operator, Setting, SignInAttempts, WebSession

COOKIE = "seatwise_session"
SIGNIN_COOKIE = "seatwise_signin"
LIFETIME = timedelta(hours=12)
FORM_LIFETIME = timedelta(hours=1)


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


def _key(session: Session) -> str:
    """SEATWISE_SECRET_KEY, else a key made once and kept in the database (shared by every process)."""
    return os.environ.get("SEATWISE_SECRET_KEY") or _stored_key(session.get_bind().engine.url.render_as_string(False))


@lru_cache(maxsize=8)
def _stored_key(url: str) -> str:
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
    raise RuntimeError("could not read or create the session key")


def add_operator(session: Session, *, email: str, name: str | None, password: str, now: datetime) -> Operator:
    """Add an operator account for the operator console."""
    email = (email or "").strip().lower()
    if not EMAIL.match(email) or len(email) > 254:
        raise BadInput(f"invalid e-mail {email!r}: expected name@example.com", code="invalid_email")
    if session.scalar(select(Operator.id).where(Operator.email == email)) is not None:
        raise BadInput(f"e-mail {email} is already in use: expected a new address", code="duplicate_email")
    op = Operator(email=email, name=required_text(name or email.split("@")[0], field="name", max_length=200),
                  password_hash=hash_password(password), created_at=now)
    session.add(op)
    session.flush()
    audit.record(session, actor=OPERATOR.label, action="operator.added", row=op, org_id=None, before=None, at=now)
    return op


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(session: Session, *, email: str, password: str, operator: bool, now: datetime) -> str | None:
    """Check the password and open a session: the signed cookie value, or None for a wrong password.

    Five wrong passwords in a row lock the address for 15 minutes, whether or not it exists; the
    count is written, so the caller commits a failure as well as a success.
    """
    email = (email or "").strip().lower()[:254]
    if not email or not password:
        return None
    row = _attempts_of(session, email)
    attempts = Attempts(row.failures, row.locked_until)
    if attempts.locked(now):
        raise Refused("too many wrong passwords: try again in 15 minutes", code="signin_locked",
                      detail=attempts.locked_until)
    account = session.scalar(select(Operator if operator else User).where(
        (Operator if operator else User).email == email))
    usable = account is not None and (operator or (account.removed_at is None and account.role != Role.USER))
    if not verify_password(account.password_hash if usable else None, password):
        attempts = attempts.after_failure(now)
        row.failures, row.locked_until = attempts.failures, attempts.locked_until
        return None
    session.delete(row)
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=_hash(token), user_id=None if operator else account.id,
                           operator_id=account.id if operator else None, csrf_token=secrets.token_urlsafe(32),
                           created_at=now, expires_at=now + LIFETIME))
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    return URLSafeSerializer(_key(session), salt="session").dumps(token)


def _attempts_of(session: Session, email: str) -> SignInAttempts:
    # The row exists before it is locked, so that parallel guesses at a new address queue on it
    # instead of each counting from zero.
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(SignInAttempts).values(email=email, failures=0).on_conflict_do_nothing())
    return session.get(SignInAttempts, email, with_for_update=True, populate_existing=True)


def end_sessions(session: Session, *, user_id: int) -> None:
    """Sign a user out everywhere (their password changed)."""
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))


def _token(session: Session, cookie: str | None) -> str | None:
    if not cookie:
        return None
    try:
        return URLSafeSerializer(_key(session), salt="session").loads(cookie)
    except BadSignature:
        return None


def principal(session: Session, *, cookie: str | None, now: datetime) -> Principal | None:
    """The person signed in with this cookie, or None when it is missing, forged or expired."""
    token = _token(session, cookie)
    web = session.get(WebSession, _hash(token)) if token else None
    if web is None or web.expires_at <= now:
        return None
    if web.operator_id is not None:
        op = session.get(Operator, web.operator_id)
        return Principal(OPERATOR, op.name, op.email, op.locale, web.csrf_token, operator_id=op.id)
    user = session.get(User, web.user_id)
    if user.removed_at is not None or user.role == Role.USER:
        return None
    return Principal(Actor(role=Role(user.role), org_id=user.org_id, user_id=user.id), user.name, user.email,
                     user.locale, web.csrf_token, user_id=user.id)


def sign_out(session: Session, *, cookie: str | None) -> None:
    """End the session of this cookie, so that a copy of it no longer works."""
    token = _token(session, cookie)
    if token:
        session.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))


def csrf_ok(expected: str, sent: object) -> bool:
    """Whether a form carries the session's CSRF token."""
    return isinstance(sent, str) and hmac.compare_digest(expected.encode(), sent.encode())


def signin_form_token(session: Session, *, nonce: str, now: datetime) -> str:
    """A CSRF token for the sign-in form, which comes before any session: signed, valid for an hour, and
    bound to the random value of the browser's `seatwise_signin` cookie, so that another site cannot
    post its own (login CSRF)."""
    return URLSafeSerializer(_key(session), salt="signin").dumps([nonce, int(now.timestamp())])


def signin_form_token_ok(session: Session, *, sent: object, nonce: str | None, now: datetime) -> bool:
    """Whether the sign-in form carries a token signed here in the last hour for this browser's cookie."""
    if not isinstance(sent, str) or not nonce:
        return False
    try:
        bound, issued = URLSafeSerializer(_key(session), salt="signin").loads(sent)
    except (BadSignature, TypeError, ValueError):
        return False
    fresh = isinstance(issued, int) and 0 <= now.timestamp() - issued <= FORM_LIFETIME.total_seconds()
    return fresh and isinstance(bound, str) and hmac.compare_digest(bound.encode(), nonce.encode())
