"""JSON shape of organisations (CLI `--json` and the HTTP API)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from seatwise.organizations.models import Organization


class OrganizationOut(BaseModel):
    id: int
    name: str
    currency: str
    locale: str
    created_at: datetime

    @classmethod
    def of(cls, org: Organization) -> "OrganizationOut":
        """A customer organisation."""
        return cls(id=org.id, name=org.name, currency=org.currency, locale=org.locale, created_at=org.created_at)
