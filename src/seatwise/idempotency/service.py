"""Idempotency-Key: the same key and body replays the first answer; another body is refused."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from seatwise.core.errors import BadInput, ErrorCode, Refused
from seatwise.idempotency.models import IdempotentRequest

KEPT = timedelta(hours=24)
# A first request still unanswered after this long died with its process, or is taken to have: a retry
# runs again, and the first, should it still be running, can no longer keep its answer or its change.
ABANDONED = timedelta(minutes=1)
# Fields shown once, such as a new webhook endpoint's signing secret: a replay shows them masked.
SHOWN_ONCE = frozenset({"secret"})


@dataclass(frozen=True)
class Claim:
    """A key taken for one request: the row that will hold its answer, and when it was taken (SQLite may give
    a row taken over by a retry the id of the row it replaced; never the same time, as it took over later)."""

    row_id: int
    claimed_at: datetime


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


def begin(session: Session, *, caller: str, key: str, fingerprint: str, now: datetime) -> Replay | Claim:
    """Claim `key` for this request (go ahead), or the first answer to replay."""
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
    claimed = IdempotentRequest(caller=caller, key=key, fingerprint=fingerprint, created_at=now)
    try:
        with session.begin_nested():
            session.add(claimed)
    except IntegrityError:
        raise _in_use() from None
    return Claim(claimed.id, now)


def _in_use() -> Refused:
    return Refused(
        "a request with this Idempotency-Key is still running: expected a retry later",
        code=ErrorCode.IDEMPOTENCY_KEY_IN_USE,
    )


def keep(session: Session, *, claim: Claim, status: int, body: bytes, content_type: str | None) -> None:
    """Keep a change's answer in the change's own transaction: a crash leaves both or neither.

    A claim taken over meanwhile (this request outlived ABANDONED, and a retry runs in its stead) is
    refused, so that the change is rolled back instead of being made twice."""
    kept = session.execute(
        update(IdempotentRequest)
        .where(
            IdempotentRequest.id == claim.row_id,
            IdempotentRequest.created_at == claim.claimed_at,
            IdempotentRequest.status.is_(None),
        )
        .values(status=status, body=_masked(body, content_type), content_type=content_type)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], kept).rowcount != 1:
        raise _in_use()


def finish(session: Session, *, claim: Claim, status: int, body: bytes, content_type: str | None) -> None:
    """Keep an answer its route did not keep with a change (a refusal changes nothing); an answer of a
    server failure is not kept, so that a retry runs again."""
    row = session.get(IdempotentRequest, claim.row_id)
    if row is None or row.created_at != claim.claimed_at or row.status is not None:
        return
    if status >= 500:
        session.delete(row)
    else:
        row.status, row.body, row.content_type = status, _masked(body, content_type), content_type


def _masked(body: bytes, content_type: str | None) -> str:
    if not body or not (content_type or "").startswith("application/json"):
        return body.decode()
    return json.dumps(_mask(json.loads(body)), ensure_ascii=False, separators=(",", ":"))


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _hidden(v) if k in SHOWN_ONCE and isinstance(v, str) else _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def _hidden(secret: str) -> str:
    kind, underscore, _ = secret.partition("_")  # whsec_… stays recognisable as a webhook secret
    return f"{kind}_********" if underscore else "********"


def forget_old(session: Session, *, now: datetime) -> int:
    """Drop keys older than 24 hours; returns how many."""
    # A DELETE's result is a CursorResult, which Session.execute's annotation does not say.
    old = delete(IdempotentRequest).where(IdempotentRequest.created_at <= now - KEPT)
    result = cast(CursorResult[Any], session.execute(old))
    return result.rowcount
