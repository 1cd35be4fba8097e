"""The admin center's cookies and CSRF tokens; who may sign in and who a session is live in `accounts`."""

from __future__ import annotations

import hmac
import os
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from seatwise.accounts import service as accounts
from seatwise.accounts import signin_flow
from seatwise.accounts.service import LIFETIME, Principal

__all__ = ["COOKIE", "LIFETIME", "SIGNIN_COOKIE", "Principal"]

COOKIE = "seatwise_session"
SIGNIN_COOKIE = "seatwise_signin"
FORM_LIFETIME = timedelta(hours=1)
CHOICE_LIFETIME = timedelta(minutes=5)


def _key(session: Session) -> str:
    """SEATWISE_SECRET_KEY, else the installation's key kept in the database (shared by every process)."""
    return _key_of(session.get_bind().engine.url.render_as_string(False))


def _key_of(url: str) -> str:
    return os.environ.get("SEATWISE_SECRET_KEY") or accounts.installation_key(url)


def _cookie(url: str, token: str) -> str:
    return URLSafeSerializer(_key_of(url), salt="session").dumps(token)


def sign_in(
    url: str, *, email: str, password: str, operator: bool, client: str, now: datetime
) -> str | accounts.Choose | None:
    """Check the password and open a session: the signed cookie value, the organisations to choose from when
    it opened several accounts, or None for a wrong password (Refused SIGNIN_LOCKED when throttled)."""
    outcome = signin_flow.sign_in(url, email=email, password=password, operator=operator, client=client, now=now)
    return _cookie(url, outcome.token) if isinstance(outcome, accounts.SignedIn) else outcome


def choice_token(url: str, *, nonce: str, choose: accounts.Choose, now: datetime) -> str:
    """What the choice page's forms carry instead of the password: the accounts it opened, signed, bound to
    this browser's sign-in cookie and valid for a few minutes."""
    chosen = [[c.user_id, c.proof] for c in choose.choices]
    return URLSafeSerializer(_key_of(url), salt="signin-choice").dumps([nonce, int(now.timestamp()), chosen])


def sign_in_chosen(
    url: str, *, sent: object, nonce: str | None, user_id: str, client: str, now: datetime
) -> str | None:
    """Open the session of the account picked on the choice page: the cookie value, or None when the token is
    not this browser's, is stale, or does not name that account."""
    if not isinstance(sent, str) or not nonce:
        return None
    try:
        bound, issued, chosen = URLSafeSerializer(_key_of(url), salt="signin-choice").loads(sent)
    except (BadSignature, TypeError, ValueError):
        return None
    fresh = isinstance(issued, int) and 0 <= now.timestamp() - issued <= CHOICE_LIFETIME.total_seconds()
    if not (fresh and isinstance(bound, str) and hmac.compare_digest(bound.encode(), nonce.encode())):
        return None
    proof = next((p for u, p in chosen if str(u) == user_id and isinstance(p, str)), None)
    if proof is None:
        return None
    token = signin_flow.sign_in_chosen(url, user_id=int(user_id), proof=proof, client=client, now=now)
    return None if token is None else _cookie(url, token)


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


def seen(session: Session, *, cookie: str | None, now: datetime) -> None:
    """Record that the session of this cookie was used now (at most once a minute, as `Principal.seen_due` says)."""
    token = _token(session, cookie)
    if token:
        accounts.seen(session, token=token, now=now)


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
