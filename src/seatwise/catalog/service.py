"""Products the operator sells."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from seatwise.catalog.models import Product
from seatwise.core.errors import BadInput, ErrorCode, NotFound
from seatwise.core.licenses import check_seat_count
from seatwise.core.money import Money
from seatwise.core.periods import Interval
from seatwise.core.policy import Profile
from seatwise.core.roles import OPERATOR
from seatwise.core.text import required_text
from seatwise.db import page
from seatwise.events import service as events


def add_product(
    session: Session,
    *,
    sku: str,
    name: str,
    price: str,
    currency: str,
    interval: str,
    trial_days: int,
    max_seats: int | None,
    policy: str,
    now: datetime,
) -> Product:
    """Add a product priced per seat per period."""
    sku = required_text(sku, field="sku", max_length=64)
    name = required_text(name, field="name", max_length=200)
    unit_price = Money.parse(price, currency)
    if unit_price.amount < 0:
        raise BadInput(f"invalid price {price!r}: expected 0 or more", code=ErrorCode.INVALID_AMOUNT)
    if interval not in set(Interval):
        raise BadInput(f"invalid period {interval!r}: expected monthly or annual", code=ErrorCode.INVALID_PERIOD)
    if policy not in set(Profile):
        raise BadInput(f"invalid policy {policy!r}: expected standard or window", code=ErrorCode.INVALID_POLICY)
    if not 0 <= trial_days <= 365:
        raise BadInput(f"invalid trial days {trial_days}: expected 0 to 365", code=ErrorCode.INVALID_TRIAL_DAYS)
    if max_seats is not None:
        check_seat_count(max_seats)
    if session.scalar(select(Product.id).where(Product.sku == sku)) is not None:
        raise BadInput(f"SKU {sku!r} already exists: expected a new SKU", code=ErrorCode.DUPLICATE_SKU)
    product = Product(
        sku=sku,
        name=name,
        unit_price=unit_price.amount,
        currency=unit_price.currency,
        interval=interval,
        trial_days=trial_days,
        max_seats=max_seats,
        policy=policy,
        created_at=now,
    )
    session.add(product)
    events.audit_change(
        session, actor=OPERATOR.label, action="product.added", row=product, org_id=None, before=None, at=now
    )
    return product


def get_by_sku(session: Session, *, sku: str) -> Product:
    """The product with this SKU, or NotFound."""
    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        raise NotFound(f"unknown SKU {sku!r}", code=ErrorCode.UNKNOWN_SKU)
    return product


def list_products(session: Session) -> list[Product]:
    """Every product, by SKU."""
    return list(session.scalars(select(Product).order_by(Product.sku)))


def page_products(session: Session, *, after: int | None, limit: int) -> list[Product]:
    """Products oldest first, after the id `after`, at most `limit` (the API's pages)."""
    return list(session.scalars(page(select(Product), Product.id, after=after, limit=limit)))
