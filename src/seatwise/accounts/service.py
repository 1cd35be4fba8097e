"""Operators, admin center sessions and sign-in: who may open a session, and who a session is."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from seatwise import db
from seatwise.accounts.models import Operator, Setting, SignInAttempts, WebSession
from seatwise.core import signin
from seatwise.core.errors import BadInput, ErrorCode, Refused
from seatwise.core.roles import OPERATOR, Actor, Role
from seatwise.core.signin import Failures, Scope
from seatwise.core.text import email_address, required_text
from seatwise.db import get_existing, insert_or_merge
from seatwise.events import service as events
from seatwise.i18n import LOCALES
from seatwise.organizations.models import Organization, User
from seatwise.passwords import hash_password

LIFETIME = timedelta(hours=12)
IDLE = timedelta(minutes=30)  # a session unused this long ends, whatever its lifetime
SEEN_EVERY = timedelta(minutes=1)  # how often a session's last use is written, not on every request


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
    seen_due: bool = False  # the session's last use should be written (`seen`)

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


ADMIN_REALM, OPERATOR_REALM, ANY_REALM = "admin", "operator", "*"
# Every admin sign-in checks at least two hashes (the dummy one fills in), so that an address with no
# account, one, or accounts in two organisations all take the same time.
VERIFICATIONS_AT_LEAST = 2

Key = tuple[str, str, str]  # (realm, email, client) of a SignInAttempts row


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The password opened one account: the new session's secret token."""

    token: str


@dataclass(frozen=True, slots=True)
class Choice:
    """One organisation whose account the password opened; `proof` names the password hash it matched."""

    user_id: int
    org_name: str
    proof: str


@dataclass(frozen=True, slots=True)
class Choose:
    """The password opened accounts of several organisations: the person picks one (no session yet)."""

    choices: tuple[Choice, ...]


@dataclass(frozen=True, slots=True)
class _Account:
    id: int
    org_id: int | None
    org_name: str
    password_hash: str | None


def _proof(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:32]


def _keys(realm: str, email: str, client: str) -> dict[Scope, Key]:
    return {
        Scope.PAIR: (realm, email, client),
        Scope.CLIENT: (ANY_REALM, "", client),
        Scope.ACCOUNT: (realm, email, ""),
    }


def _where(key: Key) -> Any:
    realm, email, client = key
    return (SignInAttempts.realm == realm) & (SignInAttempts.email == email) & (SignInAttempts.client == client)


def _counts(session: Session, keys: dict[Scope, Key], *, lock: bool = False) -> dict[Scope, Failures]:
    counts = {}
    for scope, key in sorted(keys.items(), key=lambda item: item[1]):  # one order, so that lockers never deadlock
        query = select(SignInAttempts).where(_where(key))
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        row = session.scalar(query)
        counts[scope] = Failures() if row is None else Failures(row.failures, row.since, row.last_at)
    return counts


@dataclass(frozen=True, slots=True)
class Try:
    """One sign-in try, counted as wrong until found right: the accounts whose passwords it may open."""

    realm: str
    email: str
    client: str
    keys: dict[Scope, Key]
    counts: dict[Scope, Failures]
    accounts: list[_Account]
    refusal: signin.Throttle | None  # throttled: no password is checked


def try_of(email: str, *, operator: bool, client: str) -> Try:
    """A try not counted yet; its e-mail address normalised (empty when none was given)."""
    email = (email or "").strip().lower()[:254]
    realm = OPERATOR_REALM if operator else ADMIN_REALM
    return Try(realm, email, client, _keys(realm, email, client), {}, [], None)


def throttled(session: Session, *, attempt: Try, now: datetime) -> signin.Throttle | None:
    """Whether the try is refused now, read without taking a write lock (a flood of refused tries)."""
    return signin.throttle(**_counts(session, attempt.keys), now=now)


def count_try(session: Session, *, attempt: Try, now: datetime) -> Try:
    """Count the try as wrong, unless throttled, and read the accounts to check; stale rows are purged."""
    keys = attempt.keys
    session.execute(delete(SignInAttempts).where(SignInAttempts.since < now - signin.FORGET))
    _create(session, keys, now)
    counts = _counts(session, keys, lock=True)
    refusal = signin.throttle(**counts, now=now)
    if refusal is not None:
        return Try(attempt.realm, attempt.email, attempt.client, keys, counts, [], refusal)
    counts = {scope: f.after_failure(now, window=signin.window_of(scope)) for scope, f in counts.items()}
    for scope, f in counts.items():
        session.execute(
            update(SignInAttempts).where(_where(keys[scope])).values(failures=f.count, since=f.since, last_at=f.last_at)
        )
    accounts = _candidates(session, email=attempt.email, operator=attempt.realm == OPERATOR_REALM)
    return Try(attempt.realm, attempt.email, attempt.client, keys, counts, accounts, None)


def locked(refusal: signin.Throttle, *, now: datetime) -> Refused:
    """The error of a throttled try (SIGNIN_LOCKED), saying when to try again."""
    minutes = max(1, -(-int((refusal.retry_at - now).total_seconds()) // 60))
    return Refused(
        f"too many wrong passwords: try again in {minutes} minutes", code=ErrorCode.SIGNIN_LOCKED, detail=refusal
    )


def settle(session: Session, *, attempt: Try, matched: list[_Account], now: datetime) -> SignedIn | Choose | None:
    """Record a checked try: a session for the one account it opened, the choice of several, or a failure."""
    operator = attempt.realm == OPERATOR_REALM
    if not matched:
        _audit_failure(
            session,
            realm=attempt.realm,
            email=attempt.email,
            client=attempt.client,
            accounts=attempt.accounts,
            counts=attempt.counts,
            now=now,
        )
        return None
    _forgive(session, attempt.keys)
    if len(matched) > 1:
        return Choose(tuple(Choice(a.id, a.org_name, _proof(a.password_hash)) for a in matched))
    account = matched[0]
    return SignedIn(
        _open(session, account=account, operator=operator, email=attempt.email, client=attempt.client, now=now)
    )


def open_chosen(session: Session, *, user_id: int, proof: str, client: str, now: datetime) -> str | None:
    """Open a session for the account picked among those the password opened (`proof`: its hash then);
    None when it no longer may sign in or its password changed since."""
    user = session.get(User, user_id)
    if user is None or not _may_sign_in(user) or not hmac.compare_digest(_proof(user.password_hash), proof):
        return None
    account = _Account(user.id, user.org_id, "", user.password_hash)
    return _open(session, account=account, operator=False, email=user.email, client=client, now=now)


def _may_sign_in(user: User) -> bool:
    # Users who hold licences, and removed admins, never sign in.
    return user.removed_at is None and user.role != Role.USER and user.password_hash is not None


def _create(session: Session, keys: dict[Scope, Key], now: datetime) -> None:
    # The rows exist before they are locked, so that parallel tries at a new address queue on them
    # instead of each counting from zero.
    rows = [
        {"realm": r, "email": e, "client": c, "failures": 0, "since": now, "last_at": now}
        for r, e, c in sorted(keys.values())
    ]
    session.execute(insert_or_merge(session, SignInAttempts).values(rows).on_conflict_do_nothing())


def _candidates(session: Session, *, email: str, operator: bool) -> list[_Account]:
    if operator:
        op = session.scalar(select(Operator).where(Operator.email == email))
        return [] if op is None else [_Account(op.id, None, "", op.password_hash)]
    rows = session.execute(
        select(User, Organization.name)
        .join(Organization, Organization.id == User.org_id)
        .where(User.email == email)
        .order_by(Organization.name, User.id)
    ).all()
    return [_Account(u.id, u.org_id, name, u.password_hash) for u, name in rows if _may_sign_in(u)]


def _forgive(session: Session, keys: dict[Scope, Key]) -> None:
    """The try was counted as wrong, and was right: the pair starts afresh, the others lose that one."""
    for scope, key in sorted(keys.items(), key=lambda item: item[1]):  # the order every locker takes
        if scope == Scope.PAIR:
            session.execute(delete(SignInAttempts).where(_where(key)))
        else:
            session.execute(
                update(SignInAttempts)
                .where(_where(key), SignInAttempts.failures > 0)
                .values(failures=SignInAttempts.failures - 1)
            )


def _open(session: Session, *, account: _Account, operator: bool, email: str, client: str, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=_hash(token),
            user_id=None if operator else account.id,
            operator_id=account.id if operator else None,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + LIFETIME,
            last_seen_at=now,
        )
    )
    session.execute(delete(WebSession).where((WebSession.expires_at < now) | (WebSession.last_seen_at < now - IDLE)))
    events.audit_entry(
        session,
        actor=OPERATOR.label if operator else f"user:{account.id}",
        action="signin.succeeded",
        entity="operators" if operator else "users",
        entity_id=account.id,
        org_id=account.org_id,
        before=None,
        after={"email": email, "client": client},
        at=now,
    )
    return token


def _audit_failure(
    session: Session,
    *,
    realm: str,
    email: str,
    client: str,
    accounts: list[_Account],
    counts: dict[Scope, Failures],
    now: datetime,
) -> None:
    """A wrong password, for each account it was tried on (each organisation sees its own), and the
    throttling it starts; never the password."""
    facts = {"email": email, "client": client, "realm": realm}
    entity = "operators" if realm == OPERATOR_REALM else "users"
    targets = [(entity, a.id, a.org_id) for a in accounts] or [("sign_in_attempts", 0, None)]
    after = signin.throttle(**counts, now=now)
    for name, entity_id, org_id in targets:
        events.audit_entry(
            session,
            actor="anonymous",
            action="signin.failed",
            entity=name,
            entity_id=entity_id,
            org_id=org_id,
            before=None,
            after={**facts, "failures": counts[Scope.PAIR].count},
            at=now,
        )
        if after is not None:  # once, when the wrong password starts it: refused tries write nothing
            events.audit_entry(
                session,
                actor="anonymous",
                action="signin.throttled",
                entity=name,
                entity_id=entity_id,
                org_id=org_id,
                before=None,
                after={**facts, "scope": after.scope.value, "retry_at": after.retry_at.isoformat()},
                at=now,
            )


def end_sessions(session: Session, *, user_id: int) -> None:
    """Sign a user out everywhere (their password changed)."""
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))


def principal(session: Session, *, token: str, now: datetime) -> Principal | None:
    """The person signed in with this session token, or None when it is unknown or expired."""
    web = session.get(WebSession, _hash(token))
    if web is None or web.expires_at <= now or now - web.last_seen_at >= IDLE:
        return None
    seen_due = now - web.last_seen_at >= SEEN_EVERY
    if web.operator_id is not None:
        op = get_existing(session, Operator, web.operator_id)
        return Principal(OPERATOR, op.name, op.email, op.locale, web.csrf_token, operator_id=op.id, seen_due=seen_due)
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
        seen_due=seen_due,
    )


def seen(session: Session, *, token: str, now: datetime) -> None:
    """Record that the session of this token was used at `now` (its idle time starts again)."""
    session.execute(
        update(WebSession)
        .where(WebSession.token_hash == _hash(token), WebSession.last_seen_at < now)
        .values(last_seen_at=now)
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
