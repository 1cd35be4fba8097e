"""The mail outbox (R27): messages are written in the transaction of the change that makes them, and sent at
least once by a worker, outside any transaction, with the same Message-ID on every attempt.

A worker claims due messages in a short transaction (leased, so that no other worker sends them meanwhile),
talks to the SMTP server with no transaction open, and records the outcome in another. A message whose
worker died is due again when its lease ends.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.errors import HeaderParseError
from email.headerregistry import Address
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from seatwise import config, db
from seatwise.core.errors import BadInput, ErrorCode, NotFound
from seatwise.core.text import email_address
from seatwise.i18n import LOCALES
from seatwise.mail.models import MailMessage

# Waits after each failed attempt; the last one repeats until a day has passed since the message was written.
RETRY_AFTER = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
)
GIVE_UP_AFTER = timedelta(days=1)  # since the message was written: then it is failed with the last error
SMTP_TIMEOUT = 30  # seconds per socket operation
# A claimed attempt nobody recorded by then is made again: connecting, greeting, STARTTLS, login and data
# each may take up to SMTP_TIMEOUT.
LEASE = timedelta(seconds=SMTP_TIMEOUT * 6)
STATUSES = ("queued", "sending", "sent", "kept", "failed")
MAX_SUBJECT = 300
MAX_NAME = 200


class Recipient(NamedTuple):
    """Whom a message goes to, in which language."""

    address: str
    name: str | None
    locale: str


@dataclass(frozen=True)
class Claim:
    """One attempt a worker has taken on: the message as it is to be sent."""

    id: int
    lease_until: datetime  # its record counts only while the message is still leased to it
    message_id: str
    to_address: str
    to_name: str | None
    subject: str
    text: str
    html: str | None
    attachments: list[dict[str, Any]]
    created_at: datetime


@dataclass(frozen=True)
class Outcome:
    """How an attempt ended: sent, refused for good (5xx), or worth another try (4xx, no answer)."""

    sent: bool
    permanent: bool = False
    error: str | None = field(default=None)


def _one_line(value: str, *, what: str, code: ErrorCode, max_length: int) -> str:
    """A header value that cannot start a header of its own: no CR, LF or other control character."""
    text = value.strip()
    bad = next((c for c in text if c in "\r\n" or ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        raise BadInput(
            f"invalid {what} {text[:60]!r}: it holds the control character U+{ord(bad):04X}, which could add a mail"
            " header: expected one line of plain text",
            code=code,
        )
    if not text or len(text) > max_length:
        raise BadInput(f"invalid {what}: expected 1 to {max_length} characters", code=code)
    return text


def check_address(value: str) -> str:
    """An address to send to (trimmed, lower case), as both Seatwise and the mail header parser read it."""
    address = email_address(value)
    try:
        parsed = Address(addr_spec=address)
    except (HeaderParseError, ValueError, IndexError):
        parsed = None
    if parsed is None or parsed.addr_spec != address:
        raise BadInput(f"invalid e-mail {address!r}: expected name@example.com", code=ErrorCode.INVALID_EMAIL)
    return address


def message_id(*, key: str, address: str) -> str:
    """The Message-ID of the mail that `key` makes for `address`: the same on every attempt, so that a receiver
    can drop a second delivery."""
    digest = hashlib.sha256(f"{key}\n{address}".encode()).hexdigest()[:24]
    host = urlsplit(config.public_url()).hostname or "seatwise.invalid"
    return f"<seatwise.mail.{digest}@{host}>"


def queue(
    session: Session,
    *,
    org_id: int | None,
    kind: str,
    key: str,
    to: Sequence[Recipient | tuple[str, str | None, str]],
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Sequence[dict[str, Any]] = (),
    at: datetime,
) -> int:
    """Write one message per recipient in the caller's transaction, due at once; a recipient that `key` already
    wrote to is skipped. Returns how many were written."""
    subject = _one_line(subject, what="subject", code=ErrorCode.INVALID_SUBJECT, max_length=MAX_SUBJECT)
    if not key or len(key) > 200 or not kind or len(kind) > 60:
        raise BadInput(
            f"invalid mail key {key!r} or kind {kind!r}: expected 1 to 200 and 1 to 60 characters",
            code=ErrorCode.INVALID_VALUE,
        )
    rows: dict[str, dict[str, Any]] = {}
    for address, name, locale in to:
        address = check_address(address)
        if locale not in LOCALES:
            raise BadInput(
                f"invalid locale {locale!r} for {address}: expected one of {', '.join(LOCALES)}",
                code=ErrorCode.INVALID_LOCALE,
            )
        rows.setdefault(
            address,
            {
                "org_id": org_id,
                "kind": kind,
                "key": key,
                "to_address": address,
                "to_name": _one_line(name, what="recipient name", code=ErrorCode.INVALID_NAME, max_length=MAX_NAME)
                if name and name.strip()
                else None,
                "locale": locale,
                "subject": subject,
                "text": text,
                "html": html,
                "attachments": [dict(a) for a in attachments],
                "message_id": message_id(key=key, address=address),
                "status": "queued",
                "attempts": 0,
                "next_attempt_at": at,
                "created_at": at,
            },
        )
    if not rows:
        return 0
    insert = db.insert_or_merge(session, MailMessage).values(list(rows.values()))
    written = insert.on_conflict_do_nothing(index_elements=["key", "to_address"]).returning(MailMessage.id)
    return len(session.execute(written).all())


def _due(*, now: datetime, limit: int) -> Any:
    """Queued messages whose time has come, and sending ones whose worker's lease ran out, oldest first."""
    return (
        select(MailMessage)
        .where(MailMessage.status.in_(("queued", "sending")), MailMessage.next_attempt_at <= now)
        .order_by(MailMessage.next_attempt_at, MailMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def claim(session: Session, *, now: datetime, limit: int = 1) -> list[Claim]:
    """Take up to `limit` due messages for one attempt each. They are not due again until the lease ends, so
    that no other worker sends them meanwhile; the SMTP conversation itself happens outside any transaction."""
    claims = []
    for message in session.scalars(_due(now=now, limit=limit)):
        message.status = "sending"
        message.next_attempt_at = message.leased_until = now + LEASE
        claims.append(
            Claim(
                id=message.id,
                lease_until=message.leased_until,
                message_id=message.message_id,
                to_address=message.to_address,
                to_name=message.to_name,
                subject=message.subject,
                text=message.text,
                html=message.html,
                attachments=list(message.attachments or []),
                created_at=message.created_at,
            )
        )
    return claims


def keep(session: Session, *, now: datetime, limit: int = 1000) -> int:
    """With no SMTP server configured, due messages are kept: stored and shown, nothing sent. Returns how many."""
    kept = 0
    for message in session.scalars(_due(now=now, limit=limit)):
        message.status, message.sent_at, message.leased_until = "kept", now, None
        kept += 1
    return kept


def record(session: Session, *, claim: Claim, outcome: Outcome, now: datetime) -> str | None:
    """Write down how the attempt ended: sent; failed for good with the server's answer; or queued again after
    a while, until a day has passed since the message was written. Returns the new status, or None if the
    attempt had lost its lease."""
    message = db.load(session, MailMessage, claim.id, lock=True)
    # A later claim (the lease ran out and another worker took it up) owns the message now.
    if message is None or message.leased_until != claim.lease_until:
        return None
    message.leased_until = None
    message.attempts += 1
    message.last_error = None if outcome.sent else (outcome.error or "no answer")[:2000]
    give_up_at = message.created_at + GIVE_UP_AFTER
    if outcome.sent:
        message.status, message.sent_at = "sent", now
    elif outcome.permanent or now >= give_up_at:
        message.status = "failed"
    else:
        wait = RETRY_AFTER[min(message.attempts, len(RETRY_AFTER)) - 1]
        message.status, message.next_attempt_at = "queued", min(now + wait, give_up_at)
    return message.status


def get_message(session: Session, *, message_id: int) -> MailMessage:
    """One message, for the operator."""
    message = session.get(MailMessage, message_id)
    if message is None:
        raise NotFound(f"unknown mail message {message_id}", code=ErrorCode.UNKNOWN_MAIL_MESSAGE)
    return message


def list_messages(
    session: Session,
    *,
    org_id: int | None = None,
    status: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[MailMessage]:
    """Messages newest first, of one organisation or all, in one status or any."""
    if status is not None and status not in STATUSES:
        raise BadInput(
            f"invalid mail status {status!r}: expected one of {', '.join(STATUSES)}", code=ErrorCode.INVALID_STATE
        )
    query = select(MailMessage)
    if org_id is not None:
        query = query.where(MailMessage.org_id == org_id)
    if status is not None:
        query = query.where(MailMessage.status == status)
    return list(session.scalars(db.page(query, MailMessage.id, after=before, limit=limit, descending=True)))
