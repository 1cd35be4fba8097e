"""The admin center's cookies and CSRF tokens; who may sign in and who a session is live in `accounts`."""

from __future__ import annotations

import hmac
import os
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from seatwise.accounts import service as accounts
from seatwise.accounts.service import LIFETIME, Principal

__all__ = ["COOKIE", "LIFETIME", "SIGNIN_COOKIE", "Principal"]

COOKIE = "seatwise_session"
SIGNIN_COOKIE = "seatwise_signin"
FORM_LIFETIME = timedelta(hours=1)


def _key(session: Session) -> str:
    """SEATWISE_SECRET_KEY, else the installation's key kept in the database (shared by every process)."""
    return os.environ.get("SEATWISE_SECRET_KEY") or accounts.installation_key(
        session.get_bind().engine.url.render_as_string(False)
    )


def sign_in(session: Session, *, email: str, password: str, operator: bool, now: datetime) -> str | None:
    """Check the password and open a session: the signed cookie value, or None for a wrong password."""
    token = accounts.sign_in(session, email=email, password=password, operator=operator, now=now)
    return None if token is None else URLSafeSerializer(_key(session), salt="session").dumps(token)


def _token(session: Session, cookie: str | None) -> str | None:
    if not cookie:
        return None
    try:
        token = URLSafeSerializer(_key(session), salt="session").loads(cookie)
    except BadSignature:
        return None
    return token if isinstance(token, str) else None


def principal(session: Session, *, cookie: str | None, now: datetime) -> Principal | None:
    """The person signed in with this cookie, or None when it is missing, forged or expired."""
    token = _token(session, cookie)
    return accounts.principal(session, token=token, now=now) if token else None


def sign_out(session: Session, *, cookie: str | None) -> None:
    """End the session of this cookie, so that a copy of it no longer works."""
    token = _token(session, cookie)
    if token:
        accounts.sign_out(session, token=token)


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
