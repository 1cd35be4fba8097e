"""JSON shape of events (`GET /v1/events`, and the body of every webhook)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from seatwise.events.models import Event


class EventOut(BaseModel):
    id: int
    type: str  # subscription.canceled, license.assigned, invoice.issued, …
    org_id: int
    timestamp: datetime
    data: dict[str, Any]  # the record after the change (amounts in minor units), with `object` naming it

    @classmethod
    def of(cls, event: Event) -> EventOut:
        """An event as webhooks carry it (Standard Webhooks' type, timestamp and data)."""
        return cls(id=event.id, type=event.type, org_id=event.org_id, timestamp=event.occurred_at, data=event.data)
