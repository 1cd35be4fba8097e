"""JSON shape of products (CLI `--json` and the HTTP API)."""

from __future__ import annotations

from pydantic import BaseModel

from seatwise.catalog.models import Product
from seatwise.core.money import Money


class ProductOut(BaseModel):
    id: int
    sku: str
    name: str
    price: str  # decimal string in the currency's units: "12.50"
    currency: str
    period: str
    trial_days: int
    max_seats: int | None
    policy: str

    @classmethod
    def of(cls, product: Product) -> ProductOut:
        """A product of the catalogue, its price per licence per period."""
        return cls(
            id=product.id,
            sku=product.sku,
            name=product.name,
            price=Money(product.unit_price, product.currency).decimal_string(),
            currency=product.currency,
            period=product.interval,
            trial_days=product.trial_days,
            max_seats=product.max_seats,
            policy=product.policy,
        )
