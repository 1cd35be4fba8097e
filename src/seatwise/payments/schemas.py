"""JSON shape of payment methods (CLI `--json` and the HTTP API)."""

from __future__ import annotations

from pydantic import BaseModel

from seatwise.payments.models import PaymentMethod


class PaymentMethodOut(BaseModel):
    id: int
    org_id: int
    kind: str  # card | invoice
    brand: str | None
    last4: str | None
    expires: str | None  # MM/YYYY

    @classmethod
    def of(cls, method: PaymentMethod) -> PaymentMethodOut:
        """A card, of which only the brand, last four digits and expiry are shown, or pay-by-invoice."""
        return cls(
            id=method.id,
            org_id=method.org_id,
            kind=method.kind,
            brand=method.brand,
            last4=method.last4,
            expires=f"{method.exp_month:02d}/{method.exp_year}" if method.exp_month else None,
        )
