"""Idempotency-Key: the same key and body replays the first answer; another body is refused."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from seatwise.core.errors import BadInput, ErrorCode, Refused
from seatwise.idempotency.models import IdempotentRequest

KEPT = timedelta(hours=24)
# Fields shown once, such as a new webhook endpoint's signing secret: a replay shows them masked.
SHOWN_ONCE = frozenset({"secret"})


@dataclass(frozen=True)
class Claim:
    """A request that found no answer under its key: the answer it gets is kept under the key."""

    caller: str
    key: str
    fingerprint: str
    at: datetime


@dataclass(frozen=True)
class Replay:
    """The first answer to a request, sent again."""

    status: int
    body: bytes
    content_type: str | None
    headers: dict[str, str]  # those the route set, such as a subscription's ETag


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
    """The first answer to replay, or the claim of a request with nothing kept under its key yet.

    Nothing is written here: the answer is written with the change it answers (`keep`), so that no process
    that dies midway leaves a key behind that a retry must wait for."""
    row = session.scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.caller == caller, IdempotentRequest.key == key, IdempotentRequest.created_at > now - KEPT
        )
    )
    if row is None or row.status is None:  # (a claim left by a release that claimed keys first: given up)
        return Claim(caller, key, fingerprint, now)
    if row.fingerprint != fingerprint:
        raise BadInput(
            "this Idempotency-Key was used with another request: expected the same method, path and body, or a new key",
            code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
        )
    return Replay(row.status, (row.body or "").encode(), row.content_type, json.loads(row.headers or "{}"))


def keep(
    session: Session,
    *,
    claim: Claim,
    status: int,
    body: bytes,
    content_type: str | None,
    headers: dict[str, str] | None = None,
) -> None:
    """Keep a change's answer in the change's own transaction: a crash leaves both or neither.

    When the same request ran alongside and committed first, this one is refused, so that its change is
    rolled back instead of made twice; its retry replays the other's answer."""
    if not _add(session, claim=claim, status=status, body=body, content_type=content_type, headers=headers):
        raise Refused(
            "a request with this Idempotency-Key was answered meanwhile: expected a retry, which gets that answer",
            code=ErrorCode.IDEMPOTENCY_KEY_IN_USE,
        )


def finish(session: Session, *, claim: Claim, status: int, body: bytes, content_type: str | None) -> None:
    """Keep an answer its route did not keep with a change (a refusal changes nothing); an answer of a
    server failure is not kept, so that a retry runs again."""
    if status < 500:
        _add(session, claim=claim, status=status, body=body, content_type=content_type, headers=None)


def _add(
    session: Session,
    *,
    claim: Claim,
    status: int,
    body: bytes,
    content_type: str | None,
    headers: dict[str, str] | None,
) -> bool:
    # A key older than KEPT is free again, even if forget_old has not dropped it yet; so is a claim without
    # an answer, which only a release that claimed keys before answering left (begin gives it up too).
    session.execute(
        delete(IdempotentRequest).where(
            IdempotentRequest.caller == claim.caller,
            IdempotentRequest.key == claim.key,
            or_(IdempotentRequest.created_at <= claim.at - KEPT, IdempotentRequest.status.is_(None)),
        )
    )
    row = IdempotentRequest(
        caller=claim.caller,
        key=claim.key,
        fingerprint=claim.fingerprint,
        created_at=claim.at,
        status=status,
        body=_masked(body, content_type),
        content_type=content_type,
        headers=json.dumps(headers) if headers else None,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # kept already: by the route, or by the same request running alongside
        return False
    return True


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
