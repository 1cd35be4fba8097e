"""Idempotency-Key: the same key and body replays the first answer; another body is refused."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from seatwise.core.errors import BadInput, ErrorCode, Refused
from seatwise.idempotency.models import IdempotentRequest

KEPT = timedelta(hours=24)
# A first request still unanswered after this long died with its process: a retry runs again.
ABANDONED = timedelta(minutes=1)


@dataclass(frozen=True)
class Replay:
    """The first answer to a request, sent again."""

    status: int
    body: bytes
    content_type: str | None


def caller_of(authorization: str) -> str:
    """Whose keys these are: a hash of the credentials, so that two API keys never share a key."""
    return hashlib.sha256(authorization.encode()).hexdigest()


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests the same request."""
    return hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()


def check_key(key: str) -> None:
    """Keys are 1–255 printable ASCII characters, such as a UUID."""
    if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        raise BadInput(
            "invalid Idempotency-Key: expected 1 to 255 printable ASCII characters, such as a UUID",
            code=ErrorCode.INVALID_IDEMPOTENCY_KEY,
        )


def begin(session: Session, *, caller: str, key: str, fingerprint: str, now: datetime) -> Replay | None:
    """Claim `key` for this request (None: go ahead), or the first answer to replay."""
    row = session.scalar(
        select(IdempotentRequest)
        .where(IdempotentRequest.caller == caller, IdempotentRequest.key == key)
        .with_for_update()
    )
    if row is not None:
        stale = row.created_at <= now - KEPT or (row.status is None and row.created_at <= now - ABANDONED)
        if not stale:
            if row.fingerprint != fingerprint:
                raise BadInput(
                    "this Idempotency-Key was used with another request: expected the same method, "
                    "path and body, or a new key",
                    code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
                )
            if row.status is None:
                raise Refused(
                    "a request with this Idempotency-Key is still running: expected a retry later",
                    code=ErrorCode.IDEMPOTENCY_KEY_IN_USE,
                )
            return Replay(row.status, (row.body or "").encode(), row.content_type)
        session.delete(row)
        session.flush()
    try:
        with session.begin_nested():
            session.add(IdempotentRequest(caller=caller, key=key, fingerprint=fingerprint, created_at=now))
    except IntegrityError:
        raise Refused(
            "a request with this Idempotency-Key is still running: expected a retry later",
            code=ErrorCode.IDEMPOTENCY_KEY_IN_USE,
        ) from None
    return None


def finish(session: Session, *, caller: str, key: str, status: int, body: bytes, content_type: str | None) -> None:
    """Keep the answer for replays; an answer of a server failure is not kept, so that a retry runs again."""
    row = session.scalar(
        select(IdempotentRequest).where(IdempotentRequest.caller == caller, IdempotentRequest.key == key)
    )
    if row is None:
        return
    if status >= 500:
        session.delete(row)
    else:
        row.status, row.body, row.content_type = status, body.decode(), content_type


def forget_old(session: Session, *, now: datetime) -> int:
    """Drop keys older than 24 hours; returns how many."""
    # A DELETE's result is a CursorResult, which Session.execute's annotation does not say.
    old = delete(IdempotentRequest).where(IdempotentRequest.created_at <= now - KEPT)
    result = cast(CursorResult[Any], session.execute(old))
    return result.rowcount
