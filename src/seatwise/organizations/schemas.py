"""JSON shape of organisations (CLI `--json` and the HTTP API)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from seatwise.organizations.models import Organization, User


class OrganizationOut(BaseModel):
    id: int
    name: str
    currency: str
    locale: str
    created_at: datetime

    @classmethod
    def of(cls, org: Organization) -> OrganizationOut:
        """A customer organisation."""
        return cls(id=org.id, name=org.name, currency=org.currency, locale=org.locale, created_at=org.created_at)


class UserOut(BaseModel):
    id: int
    org_id: int
    email: str
    name: str
    role: str
    status: str  # active | removed
    removed_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        """A user of an organisation: an admin by role, or a user who holds licences."""
        return cls(
            id=user.id,
            org_id=user.org_id,
            email=user.email,
            name=user.name,
            role=user.role,
            status="removed" if user.removed_at else "active",
            removed_at=user.removed_at,
        )


class BillingNotificationsOut(BaseModel):
    """The extra addresses an organisation's billing e-mail goes to (R27), oldest first."""

    org_id: int
    emails: list[str]
