from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from seatwise.db import Base, UTCDateTime


class Product(Base):
    """Something the operator sells per seat, at one price per billing period."""

    __tablename__ = "products"
    __table_args__ = (CheckConstraint("unit_price >= 0", name="price_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_price: Mapped[int] = mapped_column(BigInteger)  # minor units per seat per period
    currency: Mapped[str] = mapped_column(String(3))
    interval: Mapped[str] = mapped_column(String(10))
    trial_days: Mapped[int] = mapped_column(Integer, default=30)
    max_seats: Mapped[int | None] = mapped_column(Integer, nullable=True)
    policy: Mapped[str] = mapped_column(String(10), default="standard")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
