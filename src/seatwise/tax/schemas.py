"""JSON shape of the vendor's legal profile (CLI `--json`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from seatwise.tax.models import VendorProfile


class VendorOut(BaseModel):
    name: str
    address_line: str
    postcode: str
    city: str
    country: str
    vat_id: str | None
    company_id: str | None
    iban: str | None
    oss: bool
    invoice_prefix: str
    charges_vat: bool  # False without a VAT ID: a small business under the Dutch KOR
    updated_at: datetime

    @classmethod
    def of(cls, vendor: VendorProfile) -> VendorOut:
        """The profile as printed on invoices, and whether it charges VAT."""
        return cls(
            name=vendor.name,
            address_line=vendor.address_line,
            postcode=vendor.postcode,
            city=vendor.city,
            country=vendor.country,
            vat_id=vendor.vat_id,
            company_id=vendor.company_id,
            iban=vendor.iban,
            oss=vendor.oss,
            invoice_prefix=vendor.invoice_prefix,
            charges_vat=vendor.vat_id is not None,
            updated_at=vendor.updated_at,
        )
