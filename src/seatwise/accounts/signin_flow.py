"""Signing in across several short transactions, so that argon2 runs with none open (DESIGN: services flush
and never commit; this module, like a route, owns the units of work)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from seatwise import db
from seatwise.accounts import service as accounts
from seatwise.accounts.service import Choose, SignedIn
from seatwise.passwords import verify_password


def sign_in(
    url: str,
    *,
    email: str,
    password: str,
    operator: bool,
    client: str,
    now: datetime,
    verify: Callable[[str | None, str], bool] = verify_password,
) -> SignedIn | Choose | None:
    """Check the password and open a session (or offer the organisations it opened); None for a wrong one.

    A short transaction counts the try (as wrong until found right) and reads the accounts, the password is
    checked outside any, and a short one records the outcome. A throttled try is refused (SIGNIN_LOCKED,
    with when to retry) before any password is checked."""
    attempt = accounts.try_of(email, operator=operator, client=client)
    if not attempt.email or not password:
        return None
    with db.read_only(url) as session:
        refusal = accounts.throttled(session, attempt=attempt, now=now)
    if refusal is None:
        with db.unit_of_work(url) as session:
            attempt = accounts.count_try(session, attempt=attempt, now=now)
        refusal = attempt.refusal
    if refusal is not None:
        raise accounts.locked(refusal, now=now)
    matched = [a for a in attempt.accounts if verify(a.password_hash, password)]
    for _ in range(len(attempt.accounts), 1 if operator else accounts.VERIFICATIONS_AT_LEAST):
        verify(None, password)  # the dummy hash: as long as a real check, and never a match
    with db.unit_of_work(url) as session:
        return accounts.settle(session, attempt=attempt, matched=matched, now=now)


def sign_in_chosen(url: str, *, user_id: int, proof: str, client: str, now: datetime) -> str | None:
    """Open a session for the account picked among those the password opened; None if it no longer may."""
    with db.unit_of_work(url) as session:
        return accounts.open_chosen(session, user_id=user_id, proof=proof, client=client, now=now)
