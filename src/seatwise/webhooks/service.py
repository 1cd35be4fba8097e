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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, aliased

from seatwise import config
from seatwise.core import egress
from seatwise.core.errors import BadInput, ErrorCode, Forbidden, NotFound, Refused
from seatwise.core.roles import Actor, Permission, require
from seatwise.events import service as events
from seatwise.events.models import Event
from seatwise.organizations.service import get_org
from seatwise.webhooks.egress import TOTAL_SECONDS, Answer
from seatwise.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

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
LEASE = timedelta(seconds=TOTAL_SECONDS + 22)  # a claimed attempt nobody recorded by then is made again
MAX_ENDPOINTS = 16  # per organisation (and for the operator's every-organisation endpoints)
DISABLE_AFTER = timedelta(days=1)  # of failed attempts without a 2xx between them
OLD_SECRET_SIGNS = timedelta(hours=24)  # after a rotation, so that receivers can switch without losing events
SYSTEM_WEBHOOKS = "system:webhooks"


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _facts(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What the audit log keeps of an endpoint: never a secret."""
    return {
        "id": endpoint.id,
        "org_id": endpoint.org_id,
        "url": endpoint.url,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
    }


def _audit(
    session: Session,
    *,
    endpoint: WebhookEndpoint,
    action: str,
    actor: str,
    before: dict | None,
    now: datetime,
    **extra: Any,
) -> None:
    session.flush()
    events.audit_entry(
        session,
        actor=actor,
        action=action,
        entity="webhook_endpoints",
        entity_id=endpoint.id,
        org_id=endpoint.org_id,
        before=before,
        after=None if action == "webhook_endpoint.deleted" else {**_facts(endpoint), **extra},
        at=now,
    )


def _require_manager(actor: Actor, org_id: int | None) -> None:
    """The operator manages every endpoint; a Global admin those of their organisation."""
    if org_id is None:
        if not actor.is_operator:
            raise Forbidden("only the operator listens to every organisation's events")
        return
    require(actor, Permission.MANAGE_BILLING, org_id)
    require(actor, Permission.MANAGE_USERS, org_id)


def add_endpoint(
    session: Session,
    *,
    org_id: int | None,
    url: str,
    actor: Actor,
    now: datetime,
    allow: egress.Allow | None = None,
) -> WebhookEndpoint:
    """Listen at `url` to one organisation's events (a Global admin's, or the operator's), or to
    every organisation's (`org_id=None`, the operator only); `allow` is the egress policy's
    exceptions (default: SEATWISE_WEBHOOK_ALLOW)."""
    if org_id is not None:
        get_org(session, org_id=org_id)
    _require_manager(actor, org_id)
    egress.check_url(url, config.webhook_allow() if allow is None else allow)
    owned = WebhookEndpoint.org_id.is_(None) if org_id is None else WebhookEndpoint.org_id == org_id
    if (session.scalar(select(func.count()).select_from(WebhookEndpoint).where(owned)) or 0) >= MAX_ENDPOINTS:
        raise BadInput(
            f"too many webhook endpoints: at most {MAX_ENDPOINTS} per organisation; delete one first",
            code=ErrorCode.TOO_MANY_WEBHOOK_ENDPOINTS,
        )
    last = session.scalar(select(func.max(Event.id))) or 0
    endpoint = WebhookEndpoint(
        org_id=org_id, url=url, created_at=now, first_event_id=last + 1, secret=_new_secret(), enabled=True
    )
    session.add(endpoint)
    _audit(session, endpoint=endpoint, action="webhook_endpoint.added", actor=actor.label, before=None, now=now)
    return endpoint


def get_endpoint(session: Session, *, endpoint_id: int, actor: Actor) -> WebhookEndpoint:
    """An endpoint the caller manages; another organisation's answers as a missing one (R9)."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    visible = endpoint is not None and (actor.is_operator or endpoint.org_id == actor.org_id)
    if endpoint is None or not visible:
        raise NotFound(f"unknown webhook endpoint {endpoint_id}", code=ErrorCode.UNKNOWN_WEBHOOK_ENDPOINT)
    _require_manager(actor, endpoint.org_id)
    return endpoint


def delete_endpoint(session: Session, *, endpoint_id: int, actor: Actor, now: datetime) -> None:
    """Stop sending to an endpoint and forget it, its deliveries and attempts (the audit log keeps that it was)."""
    endpoint = get_endpoint(session, endpoint_id=endpoint_id, actor=actor)
    before = _facts(endpoint)
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint.id))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    _audit(session, endpoint=endpoint, action="webhook_endpoint.deleted", actor=actor.label, before=before, now=now)
    session.delete(endpoint)
    session.flush()


def set_enabled(session: Session, *, endpoint_id: int, enabled: bool, actor: Actor, now: datetime) -> WebhookEndpoint:
    """Disable an endpoint (nothing is sent or queued for it) or enable it again (its waiting deliveries go on)."""
    endpoint = get_endpoint(session, endpoint_id=endpoint_id, actor=actor)
    if endpoint.enabled == enabled:
        return endpoint
    before = _facts(endpoint)
    if enabled:
        endpoint.enabled, endpoint.disabled_at, endpoint.disabled_reason, endpoint.failing_since = (
            True,
            None,
            None,
            None,
        )
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending")
            .values(next_attempt_at=now)
        )
    else:
        endpoint.enabled, endpoint.disabled_at = False, now
        endpoint.disabled_reason = f"disabled by {actor.label}"
    action = "webhook_endpoint.enabled" if enabled else "webhook_endpoint.disabled"
    _audit(session, endpoint=endpoint, action=action, actor=actor.label, before=before, now=now)
    return endpoint


def rotate_secret(session: Session, *, endpoint_id: int, actor: Actor, now: datetime) -> WebhookEndpoint:
    """A new signing secret; the old one signs beside it for OLD_SECRET_SIGNS, so receivers can switch."""
    endpoint = get_endpoint(session, endpoint_id=endpoint_id, actor=actor)
    before = _facts(endpoint)
    endpoint.previous_secret, endpoint.previous_secret_until = endpoint.secret, now + OLD_SECRET_SIGNS
    endpoint.secret = _new_secret()
    _audit(
        session,
        endpoint=endpoint,
        action="webhook_endpoint.secret_rotated",
        actor=actor.label,
        before=before,
        now=now,
        previous_secret_until=endpoint.previous_secret_until.isoformat(),
    )
    return endpoint


def resend(session: Session, *, endpoint_id: int, event_id: int, actor: Actor, now: datetime) -> WebhookDelivery:
    """Send an event to an endpoint again (or for the first time), as a new attempt due now."""
    endpoint = get_endpoint(session, endpoint_id=endpoint_id, actor=actor)
    event = session.get(Event, event_id)
    if event is None or endpoint.org_id not in (None, event.org_id):
        raise NotFound(f"unknown event {event_id}", code=ErrorCode.UNKNOWN_EVENT)
    delivery = session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.event_id == event.id)
    )
    if delivery is None:
        delivery = WebhookDelivery(endpoint_id=endpoint.id, event_id=event.id, org_id=event.org_id, attempts=0)
        session.add(delivery)
    elif delivery.leased_until is not None and delivery.leased_until > now:
        # Reset now, it would be due again while the attempt runs: another worker would send it alongside,
        # and that attempt's record would be taken for this fresh series.
        raise Refused(
            f"event {event.id} is being sent to webhook endpoint {endpoint.id} right now: "
            f"expected a resend once this attempt ends (by {delivery.leased_until.isoformat()})",
            code=ErrorCode.WEBHOOK_DELIVERY_IN_FLIGHT,
        )
    # A fresh series of retries: a resend of an event that was given up is not given up at its first failure.
    delivery.status, delivery.next_attempt_at, delivery.delivered_at, delivery.attempts = "pending", now, None, 0
    delivery.leased_until = None  # an attempt whose lease ran out and that still ends has no say in this series
    _audit(
        session,
        endpoint=endpoint,
        action="webhook_endpoint.resent",
        actor=actor.label,
        before=None,
        now=now,
        event_id=event.id,
    )
    return delivery


def recent_attempts(
    session: Session, *, endpoint_id: int, before: int | None = None, limit: int = 20
) -> list[WebhookAttempt]:
    """An endpoint's attempts, newest first."""
    query = (
        select(WebhookAttempt)
        .where(WebhookAttempt.endpoint_id == endpoint_id)
        .order_by(WebhookAttempt.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(WebhookAttempt.id < before)
    return list(session.scalars(query))


def list_endpoints(session: Session, *, actor: Actor, after: int | None, limit: int) -> list[WebhookEndpoint]:
    """The endpoints the caller may see: their organisation's, or every one for the operator."""
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.id).limit(limit)
    if not actor.is_operator:
        assert actor.org_id is not None  # every actor but the operator belongs to an organisation
        _require_manager(actor, actor.org_id)
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


def signatures(endpoint: WebhookEndpoint, *, message_id: str, timestamp: int, body: bytes, now: datetime) -> str:
    """The `webhook-signature` header: the current secret's, and the previous one's while it still signs."""
    valid = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_until and now < endpoint.previous_secret_until:
        valid.append(endpoint.previous_secret)
    return " ".join(sign(s, message_id=message_id, timestamp=timestamp, body=body) for s in valid)


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
    endpoints = list(session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))))
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


Sender = Callable[[str, bytes, dict[str, str]], Answer]


def next_due(
    session: Session,
    *,
    now: datetime,
    busy_endpoints: frozenset[int] = frozenset(),
    busy_orgs: frozenset[int] = frozenset(),
) -> WebhookDelivery | None:
    """The oldest delivery that is due and heads its endpoint's queue for its organisation, locked; none of
    `busy_endpoints` or `busy_orgs` (those with enough attempts under way), none of a disabled endpoint."""
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
    enabled = select(WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(True))
    query = select(WebhookDelivery).where(
        WebhookDelivery.status == "pending",
        WebhookDelivery.next_attempt_at <= now,
        WebhookDelivery.endpoint_id.in_(enabled),
        ~blocked,
    )
    if busy_endpoints:
        query = query.where(WebhookDelivery.endpoint_id.not_in(busy_endpoints))
    if busy_orgs:
        query = query.where(WebhookDelivery.org_id.not_in(busy_orgs))
    return session.scalar(
        query.order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(1).with_for_update(skip_locked=True)
    )


@dataclass(frozen=True)
class Claim:
    """One attempt a worker has taken on: what to send, where."""

    delivery_id: int
    endpoint_id: int
    org_id: int
    url: str
    body: bytes
    headers: dict[str, str]
    lease_until: datetime  # its record counts only while the delivery is still leased to it


def claim(
    session: Session,
    *,
    now: datetime,
    busy_endpoints: frozenset[int] = frozenset(),
    busy_orgs: frozenset[int] = frozenset(),
) -> Claim | None:
    """Take the next due delivery for one attempt. It is not due again until the lease ends, so that no
    other worker sends it meanwhile, and the request itself is made outside any transaction: a slow
    endpoint never holds a lock (on SQLite, the whole database's)."""
    delivery = next_due(session, now=now, busy_endpoints=busy_endpoints, busy_orgs=busy_orgs)
    if delivery is None:
        return None
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    event = session.get(Event, delivery.event_id)
    assert endpoint is not None and event is not None  # foreign keys of the delivery
    body = json.dumps(payload(event), separators=(",", ":")).encode()
    message_id, timestamp = f"evt_{event.id}", int(now.timestamp())
    delivery.next_attempt_at = delivery.leased_until = now + LEASE
    return Claim(
        delivery.id,
        endpoint.id,
        delivery.org_id,
        endpoint.url,
        body,
        {
            "content-type": "application/json",
            "user-agent": "Seatwise-Webhooks/1",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signatures(endpoint, message_id=message_id, timestamp=timestamp, body=body, now=now),
        },
        delivery.leased_until,
    )


def record(
    session: Session, *, delivery_id: int, lease_until: datetime, answer: Answer, now: datetime, latency_ms: int = 0
) -> bool:
    """Write down how the endpoint answered: delivered, or to be retried after a while, or given up; an
    endpoint that has failed for DISABLE_AFTER without a success is disabled, and says why. False if the
    attempt had lost its lease (`lease_until` of its claim): then only the attempt itself is written down."""
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None:  # its endpoint was deleted meanwhile
        return False
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id, with_for_update=True)
    assert endpoint is not None  # the delivery's foreign key
    session.add(
        WebhookAttempt(
            endpoint_id=endpoint.id,
            delivery_id=delivery.id,
            event_id=delivery.event_id,
            at=now,
            status=answer.status,
            latency_ms=latency_ms,
            error=answer.error,
        )
    )
    # A later claim (the lease ran out and another worker sent it again) owns the delivery now: its record,
    # not this late one, says what became of it.
    if delivery.leased_until != lease_until:
        return False
    delivery.leased_until = None
    if answer.ok:
        endpoint.failing_since = None
    elif endpoint.failing_since is None:
        endpoint.failing_since = now
    elif endpoint.enabled and now - endpoint.failing_since >= DISABLE_AFTER:
        before = _facts(endpoint)
        endpoint.enabled, endpoint.disabled_at = False, now
        endpoint.disabled_reason = (
            f"failing since {endpoint.failing_since.isoformat()} without a success; last error: {answer.error}"
        )[:1000]
        _audit(
            session,
            endpoint=endpoint,
            action="webhook_endpoint.disabled",
            actor=SYSTEM_WEBHOOKS,
            before=before,
            now=now,
        )
    delivery.attempts += 1
    delivery.last_status, delivery.last_error = answer.status, answer.error
    if answer.ok:
        delivery.status, delivery.delivered_at = "delivered", now
    elif delivery.attempts > len(RETRY_AFTER):
        delivery.status = "failed"
    else:
        delivery.next_attempt_at = now + RETRY_AFTER[delivery.attempts - 1]
    return True


def deliveries(session: Session, *, endpoint_id: int) -> list[WebhookDelivery]:
    """An endpoint's deliveries, oldest event first."""
    return list(
        session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id).order_by(WebhookDelivery.event_id)
        )
    )
