"""What one domain tells the others happened, so that they react without being imported by it.

Each is recorded with `seatwise.bus.record` inside the change's unit of work; `seatwise.handlers`
says who reacts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seatwise.core.roles import Actor


@dataclass(frozen=True, slots=True)
class UserRemoved:
    """A user was removed from their organisation: their licences stop holding seats (R13)."""

    user_id: int
    org_id: int
    actor: Actor
    at: datetime


@dataclass(frozen=True, slots=True)
class UserRestored:
    """A removed user was restored: they get back the licences that still have a free seat (R13)."""

    user_id: int
    org_id: int
    actor: Actor
    at: datetime


@dataclass(frozen=True, slots=True)
class SubscriptionDeleted:
    """A subscription reached `deleted`: its licences are released."""

    sub_id: int
    org_id: int
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PaymentRecorded:
    """A payment was recorded for an open invoice: what non-payment disabled comes back (R21)."""

    invoice_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class PasswordChanged:
    """An admin's password changed: the sessions opened with the old one end."""

    user_id: int
    at: datetime


DomainEvent = UserRemoved | UserRestored | SubscriptionDeleted | PaymentRecorded | PasswordChanged
