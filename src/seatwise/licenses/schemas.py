"""JSON shapes of licence changes and assignments (CLI `--json` and the HTTP API)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from seatwise.core.money import Money
from seatwise.licenses.service import LicenseChange
from seatwise.subscriptions.schemas import MoneyOut, SubscriptionOut


class ProratedOut(BaseModel):
    kind: str  # charge | credit
    amount: MoneyOut  # before VAT
    vat: MoneyOut  # as its invoice will carry it (R24)
    total: MoneyOut
    days: int
    days_in_period: int


class LicenseChangeOut(BaseModel):
    subscription: SubscriptionOut
    change: int
    prorated: ProratedOut | None

    @classmethod
    def of(cls, change: LicenseChange, *, subscription: SubscriptionOut) -> LicenseChangeOut:
        """A new licence total and what it charges or credits pro rata (R12, R15)."""
        proration, delta = change.proration, change.change.delta
        return cls(
            subscription=subscription,
            change=delta,
            prorated=None
            if proration is None
            else ProratedOut(
                kind="charge" if delta > 0 else "credit",
                amount=MoneyOut.of(proration.amount),
                vat=MoneyOut.of(change.vat or Money.zero(proration.amount.currency)),
                total=MoneyOut.of(change.with_vat or proration.amount),
                days=proration.days,
                days_in_period=proration.days_in_period,
            ),
        )


class AssignmentOut(BaseModel):
    subscription_id: int
    user_id: int
    assigned_at: datetime
