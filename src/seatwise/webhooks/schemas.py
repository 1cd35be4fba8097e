"""JSON shape of webhook endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from seatwise.webhooks.models import WebhookEndpoint


class EndpointOut(BaseModel):
    id: int
    org_id: int | None  # null: every organisation's events (the operator's endpoints)
    url: str
    created_at: datetime

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> EndpointOut:
        """An endpoint, without its signing secret."""
        return cls(id=endpoint.id, org_id=endpoint.org_id, url=endpoint.url, created_at=endpoint.created_at)


class NewEndpointOut(EndpointOut):
    secret: str  # whsec_…: shown once, when the endpoint is added

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> NewEndpointOut:
        """A new endpoint with the secret that verifies its signatures."""
        return cls(**EndpointOut.of(endpoint).model_dump(), secret=endpoint.secret)
