"""The vendor's legal profile (R22): who sells, and so which VAT it charges (R24)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from seatwise.core.errors import BadInput, ErrorCode, NotFound
from seatwise.core.text import required_text
from seatwise.core.vat import Seller, check_country, check_iban, check_vat_id
from seatwise.db import load
from seatwise.events import service as events
from seatwise.tax.models import VendorProfile

PREFIX = re.compile(r"[A-Z0-9]{1,10}")


def get_vendor(session: Session) -> VendorProfile | None:
    """The vendor's legal profile, or None before the operator sets it."""
    return session.get(VendorProfile, 1)


def vendor_profile(session: Session) -> VendorProfile:
    """The vendor's legal profile, or NotFound before the operator sets it."""
    found = get_vendor(session)
    if found is None:
        raise NotFound(
            "no vendor profile yet: expected the vendor's legal profile set first", code=ErrorCode.NO_VENDOR_PROFILE
        )
    return found


def set_vendor(
    session: Session,
    *,
    name: str,
    address_line: str,
    postcode: str,
    city: str,
    country: str,
    vat_id: str | None,
    company_id: str | None,
    iban: str | None,
    oss: bool,
    invoice_prefix: str,
    actor_label: str,
    now: datetime,
) -> VendorProfile:
    """Set the vendor's legal profile, every field checked before anything is written; audited."""
    country = check_country(country)
    fields = dict(
        name=required_text(name, field="name", max_length=200),
        address_line=required_text(address_line, field="address line", max_length=200, code=ErrorCode.INVALID_ADDRESS),
        postcode=required_text(postcode, field="postcode", max_length=20, code=ErrorCode.INVALID_ADDRESS),
        city=required_text(city, field="city", max_length=100, code=ErrorCode.INVALID_ADDRESS),
        country=country,
        vat_id=check_vat_id(vat_id, country=country) if vat_id else None,
        company_id=required_text(
            company_id, field="company registration number", max_length=30, code=ErrorCode.INVALID_COMPANY_ID
        )
        if company_id
        else None,
        iban=check_iban(iban) if iban else None,
        oss=oss,
        invoice_prefix=_prefix(invoice_prefix),
    )
    if oss and fields["vat_id"] is None:
        raise BadInput(
            "a vendor without a VAT ID charges no VAT, so it cannot be registered for the One-Stop Shop: "
            "expected a VAT ID, or OSS off",
            code=ErrorCode.INVALID_VALUE,
        )
    vendor = load(session, VendorProfile, 1, lock=True)
    before = None if vendor is None else events.snapshot(vendor)
    if vendor is None:
        vendor = VendorProfile(id=1, updated_at=now, **fields)
        session.add(vendor)
    else:
        for key, value in fields.items():
            setattr(vendor, key, value)
        vendor.updated_at = now
    events.audit_change(
        session, actor=actor_label, action="vendor.updated", row=vendor, org_id=None, before=before, at=now
    )
    return vendor


def seller_of(vendor: VendorProfile | None) -> Seller | None:
    """The vendor as VAT sees it (R24); None before the profile is set."""
    if vendor is None:
        return None
    return Seller(country=vendor.country, vat_registered=vendor.vat_id is not None, oss=vendor.oss)


def _prefix(text: str) -> str:
    upper = (text or "").strip().upper()
    if not PREFIX.fullmatch(upper):
        raise BadInput(
            f"invalid invoice prefix {text!r}: expected 1 to 10 letters or digits, such as SW",
            code=ErrorCode.INVALID_VALUE,
        )
    return upper
