"""JSON shape of webhook endpoints and their attempts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from seatwise.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


class EndpointOut(BaseModel):
    id: int
    org_id: int | None  # null: every organisation's events (the operator's endpoints)
    url: str
    created_at: datetime
    enabled: bool
    disabled_at: datetime | None  # when it was disabled, by its owner or after a day of failures
    disabled_reason: str | None
    failing_since: datetime | None  # the first failed attempt since the last success

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> EndpointOut:
        """An endpoint, without its signing secret."""
        return cls(
            id=endpoint.id,
            org_id=endpoint.org_id,
            url=endpoint.url,
            created_at=endpoint.created_at,
            enabled=endpoint.enabled,
            disabled_at=endpoint.disabled_at,
            disabled_reason=endpoint.disabled_reason,
            failing_since=endpoint.failing_since,
        )


class NewEndpointOut(EndpointOut):
    secret: str  # whsec_…: shown once, when the endpoint is added or its secret rotated

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> NewEndpointOut:
        """A new endpoint with the secret that verifies its signatures."""
        return cls(**EndpointOut.of(endpoint).model_dump(), secret=endpoint.secret)


class AttemptOut(BaseModel):
    id: int
    event_id: int
    at: datetime
    status: int | None  # the HTTP status, or null when the endpoint never answered
    latency_ms: int
    error: str | None

    @classmethod
    def of(cls, attempt: WebhookAttempt) -> AttemptOut:
        """One attempt as the endpoint's owner sees it."""
        return cls(
            id=attempt.id,
            event_id=attempt.event_id,
            at=attempt.at,
            status=attempt.status,
            latency_ms=attempt.latency_ms,
            error=attempt.error,
        )


class EndpointDetailOut(EndpointOut):
    recent_attempts: list[AttemptOut]  # newest first

    @classmethod
    def with_attempts(cls, endpoint: WebhookEndpoint, attempts: list[WebhookAttempt]) -> EndpointDetailOut:
        """An endpoint with its latest attempts."""
        return cls(**EndpointOut.of(endpoint).model_dump(), recent_attempts=[AttemptOut.of(a) for a in attempts])


class DeliveryOut(BaseModel):
    endpoint_id: int
    event_id: int
    status: str  # pending until the endpoint answers 2xx
    next_attempt_at: datetime

    @classmethod
    def of(cls, delivery: WebhookDelivery) -> DeliveryOut:
        """An event on its way to an endpoint."""
        return cls(
            endpoint_id=delivery.endpoint_id,
            event_id=delivery.event_id,
            status=delivery.status,
            next_attempt_at=delivery.next_attempt_at,
        )
