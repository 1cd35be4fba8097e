from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from seatwise.db import Base, UTCDateTime


class VendorProfile(Base):
    """The vendor's legal profile (R22), one row for the installation, printed on every invoice."""

    __tablename__ = "vendor_profile"
    __table_args__ = (CheckConstraint("id = 1", name="one_vendor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    name: Mapped[str] = mapped_column(String(200))
    address_line: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(20))
    city: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    vat_id: Mapped[str | None] = mapped_column(String(20), nullable=True)  # none: no VAT charged (the KOR)
    company_id: Mapped[str | None] = mapped_column(String(30), nullable=True)  # the KvK number in the Netherlands
    iban: Mapped[str | None] = mapped_column(String(34), nullable=True)
    oss: Mapped[bool] = mapped_column(Boolean, default=False)
    invoice_prefix: Mapped[str] = mapped_column(String(10), default="SW")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
