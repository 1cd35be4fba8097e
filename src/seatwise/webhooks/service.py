"""Webhook endpoints, and delivering the event outbox to them signed per Standard Webhooks.

At least once and in order: an event is queued for every endpoint that listens to its
organisation, and an endpoint gets an organisation's next event only once the one before it
was delivered, or given up after the last retry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from seatwise.core.errors import BadInput, ErrorCode, Forbidden
from seatwise.core.roles import Actor, Permission, require
from seatwise.events.models import Event
from seatwise.organizations.service import get_org
from seatwise.webhooks.models import WebhookDelivery, WebhookEndpoint

# Waits after each failed attempt (Standard Webhooks' suggested schedule); then it is given up.
RETRY_AFTER = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
TIMEOUT_SECONDS = 10
LEASE = timedelta(seconds=TIMEOUT_SECONDS + 20)  # a claimed attempt nobody recorded by then is made again


def add_endpoint(session: Session, *, org_id: int | None, url: str, actor: Actor, now: datetime) -> WebhookEndpoint:
    """Listen at `url` to one organisation's events (a Global admin's, or the operator's), or to
    every organisation's (`org_id=None`, the operator only)."""
    if org_id is None:
        if not actor.is_operator:
            raise Forbidden("only the operator listens to every organisation's events")
    else:
        get_org(session, org_id=org_id)
        require(actor, Permission.MANAGE_BILLING, org_id)
        require(actor, Permission.MANAGE_USERS, org_id)
    if not _valid_url(url):
        raise BadInput(
            f"invalid webhook URL {url!r}: expected an http:// or https:// URL with a host", code=ErrorCode.INVALID_URL
        )
    last = session.scalar(select(func.max(Event.id))) or 0
    endpoint = WebhookEndpoint(
        org_id=org_id,
        url=url,
        created_at=now,
        first_event_id=last + 1,
        secret="whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def _valid_url(url: str) -> bool:
    if not url.isascii() or any(c.isspace() or not c.isprintable() for c in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  raises ValueError for a port out of range
    except ValueError:  # an unclosed [ of an IPv6 address, a port that is no number
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def list_endpoints(session: Session, *, actor: Actor, after: int | None, limit: int) -> list[WebhookEndpoint]:
    """The endpoints the caller may see: their organisation's, or every one for the operator."""
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.id).limit(limit)
    if not actor.is_operator:
        assert actor.org_id is not None  # every actor but the operator belongs to an organisation
        require(actor, Permission.MANAGE_BILLING, actor.org_id)
        require(actor, Permission.MANAGE_USERS, actor.org_id)
        query = query.where(WebhookEndpoint.org_id == actor.org_id)
    if after is not None:
        query = query.where(WebhookEndpoint.id > after)
    return list(session.scalars(query))


def payload(event: Event) -> dict:
    """What an endpoint receives, and `GET /v1/events` lists: the Standard Webhooks shape."""
    return {
        "id": event.id,
        "type": event.type,
        "org_id": event.org_id,
        "timestamp": event.occurred_at.isoformat(),
        "data": event.data,
    }


def sign(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: HMAC-SHA256 of id.timestamp.body with the endpoint's secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def queue(session: Session, *, now: datetime, limit: int = 1000) -> int:
    """Queue undispatched events for the endpoints that listen to them; returns how many events."""
    events = list(
        session.scalars(
            select(Event)
            .where(Event.dispatched.is_(False))
            .order_by(Event.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not events:
        return 0
    endpoints = list(session.scalars(select(WebhookEndpoint)))
    session.add_all(
        WebhookDelivery(
            endpoint_id=endpoint.id,
            event_id=event.id,
            org_id=event.org_id,
            status="pending",
            attempts=0,
            next_attempt_at=now,
        )
        for event in events
        for endpoint in endpoints
        if endpoint.org_id in (None, event.org_id) and event.id >= endpoint.first_event_id
    )
    session.execute(update(Event).where(Event.id.in_([e.id for e in events])).values(dispatched=True))
    return len(events)


@dataclass(frozen=True)
class Answer:
    """How an endpoint answered one attempt: an HTTP status, or the error that kept it from answering."""

    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


Sender = Callable[[str, bytes, dict[str, str]], Answer]


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST over HTTP; any 2xx is a delivery, anything else (a timeout too) a failed attempt."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return Answer(response.status)
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, f"HTTP {exc.code}")
    except (OSError, ValueError) as exc:
        return Answer(None, str(exc)[:500] or type(exc).__name__)


def next_due(session: Session, *, now: datetime) -> WebhookDelivery | None:
    """The oldest delivery that is due and heads its endpoint's queue for its organisation, locked."""
    earlier = aliased(WebhookDelivery)
    blocked = (
        select(earlier.id)
        .where(
            earlier.endpoint_id == WebhookDelivery.endpoint_id,
            earlier.org_id == WebhookDelivery.org_id,
            earlier.status == "pending",
            earlier.event_id < WebhookDelivery.event_id,
        )
        .exists()
    )
    return session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now, ~blocked)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


@dataclass(frozen=True)
class Claim:
    """One attempt a worker has taken on: what to send, where."""

    delivery_id: int
    url: str
    body: bytes
    headers: dict[str, str]


def claim(session: Session, *, now: datetime) -> Claim | None:
    """Take the next due delivery for one attempt. It is not due again until the lease ends, so that no
    other worker sends it meanwhile, and the request itself is made outside any transaction: a slow
    endpoint never holds a lock (on SQLite, the whole database's)."""
    delivery = next_due(session, now=now)
    if delivery is None:
        return None
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    event = session.get(Event, delivery.event_id)
    assert endpoint is not None and event is not None  # foreign keys of the delivery
    body = json.dumps(payload(event), separators=(",", ":")).encode()
    message_id, timestamp = f"evt_{event.id}", int(now.timestamp())
    delivery.next_attempt_at = now + LEASE
    return Claim(
        delivery.id,
        endpoint.url,
        body,
        {
            "content-type": "application/json",
            "user-agent": "Seatwise-Webhooks/1",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(endpoint.secret, message_id=message_id, timestamp=timestamp, body=body),
        },
    )


def record(session: Session, *, delivery_id: int, answer: Answer, now: datetime) -> None:
    """Write down how the endpoint answered: delivered, or to be retried after a while, or given up."""
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    assert delivery is not None  # claimed by this worker, and deliveries are never deleted
    delivery.attempts += 1
    delivery.last_status, delivery.last_error = answer.status, answer.error
    if answer.ok:
        delivery.status, delivery.delivered_at = "delivered", now
    elif delivery.attempts > len(RETRY_AFTER):
        delivery.status = "failed"
    else:
        delivery.next_attempt_at = now + RETRY_AFTER[delivery.attempts - 1]


def deliveries(session: Session, *, endpoint_id: int) -> list[WebhookDelivery]:
    """An endpoint's deliveries, oldest event first."""
    return list(
        session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id).order_by(WebhookDelivery.event_id)
        )
    )
