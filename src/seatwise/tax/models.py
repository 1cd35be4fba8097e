"""The vendor's legal profile, the organisations' billing profiles and the VAT they lead to (R22, R23, R24)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String
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


class VendorProfileVersion(Base):
    """A copy of the vendor's profile as it was set, one per edit, never changed: what an issued invoice names
    as its seller (R23), whatever the vendor's profile says later. Append-only."""

    __tablename__ = "vendor_profile_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address_line: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(20))
    city: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))
    vat_id: Mapped[str | None] = mapped_column(String(20), nullable=True)
    company_id: Mapped[str | None] = mapped_column(String(30), nullable=True)
    iban: Mapped[str | None] = mapped_column(String(34), nullable=True)
    oss: Mapped[bool] = mapped_column(Boolean)
    invoice_prefix: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(50))


class BillingProfile(Base):
    """An organisation's billing profile (R23), one row per edit, never changed: the organisation's current
    profile is its latest row, and an issued invoice keeps pointing at the row it was issued with. Append-only."""

    __tablename__ = "billing_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    # By table name: tax sits below organizations, which it must not import.
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    address_line: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(20))
    city: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    vat_id: Mapped[str | None] = mapped_column(String(20), nullable=True)  # compacted; EU ones checked offline
    po_number: Mapped[str | None] = mapped_column(String(100), nullable=True)
    exempt_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)  # set: 0 % VAT, category E
    invoice_emails: Mapped[list[str]] = mapped_column(JSON, default=list)  # at most 5
    invoice_language: Mapped[str] = mapped_column(String(2))  # en | nl
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(50))
