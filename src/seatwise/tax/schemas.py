"""JSON shape of the vendor's legal profile (CLI `--json`) and of an organisation's billing profile (the CLI and
the HTTP API)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from seatwise.tax.models import BillingProfile, VendorProfile


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


class BillingProfileOut(BaseModel):
    id: int  # this version's: an edit makes a new one
    org_id: int
    legal_name: str
    address_line: str
    postcode: str
    city: str
    country: str
    vat_id: str | None
    po_number: str | None
    exempt_reason: str | None  # set: exempt from VAT (0 %, category E) for this reason
    invoice_emails: list[str]
    invoice_language: str
    created_at: datetime
    actor: str

    @classmethod
    def of(cls, profile: BillingProfile) -> BillingProfileOut:
        """The organisation's billing profile, as its invoices name it."""
        return cls(
            id=profile.id,
            org_id=profile.org_id,
            legal_name=profile.legal_name,
            address_line=profile.address_line,
            postcode=profile.postcode,
            city=profile.city,
            country=profile.country,
            vat_id=profile.vat_id,
            po_number=profile.po_number,
            exempt_reason=profile.exempt_reason,
            invoice_emails=list(profile.invoice_emails),
            invoice_language=profile.invoice_language,
            created_at=profile.created_at,
            actor=profile.actor,
        )
