"""The vendor's legal profile (R22) and the organisations' billing profiles (R23): who sells to whom, and so
which VAT a line carries (R24). Both keep a version per edit, which an issued invoice points at."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import column, func, select, table
from sqlalchemy.orm import Session

from seatwise.core.errors import BadInput, ErrorCode, NotFound
from seatwise.core.roles import Actor, Permission, can_see, require
from seatwise.core.text import email_address, required_text
from seatwise.core.vat import EU, Buyer, Seller, check_country, check_iban, check_vat_id
from seatwise.db import load
from seatwise.events import service as events
from seatwise.i18n import LOCALES
from seatwise.tax.models import BillingProfile, VendorProfile, VendorProfileVersion

PREFIX = re.compile(r"[A-Z0-9]{1,10}")
MAX_INVOICE_EMAILS = 5
# A tax number of a country outside the EU, which no offline check knows: letters and digits once compacted.
FOREIGN_TAX_ID = re.compile(r"[A-Z0-9]{2,20}")
# The organisations table by name only: tax sits below organizations and must not import it.
ORGANIZATIONS = table("organizations", column("id"))


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
    session.add(VendorProfileVersion(**fields, created_at=now, actor=actor_label))
    events.audit_change(
        session, actor=actor_label, action="vendor.updated", row=vendor, org_id=None, before=before, at=now
    )
    return vendor


def seller_of(vendor: VendorProfile | None) -> Seller | None:
    """The vendor as VAT sees it (R24); None before the profile is set."""
    if vendor is None:
        return None
    return Seller(country=vendor.country, vat_registered=vendor.vat_id is not None, oss=vendor.oss)


def check_may(actor: Actor, *, org_id: int, permission: Permission) -> None:
    """Another organisation answers as a missing one does; a role without `permission` is Forbidden (R9)."""
    if not can_see(actor, org_id):
        raise NotFound(f"unknown organisation {org_id}", code=ErrorCode.UNKNOWN_ORG)
    require(actor, permission, org_id)


def billing_profile_of(session: Session, *, org_id: int) -> BillingProfile | None:
    """The organisation's current billing profile (its latest version), or None before one is set."""
    return session.scalars(
        select(BillingProfile).where(BillingProfile.org_id == org_id).order_by(BillingProfile.id.desc()).limit(1)
    ).first()


def billing_profile(session: Session, *, org_id: int) -> BillingProfile:
    """The organisation's current billing profile, or NotFound before one is set."""
    _check_org(session, org_id)
    found = billing_profile_of(session, org_id=org_id)
    if found is None:
        raise NotFound(
            f"organisation {org_id} has no billing profile yet: expected one set first",
            code=ErrorCode.NO_BILLING_PROFILE,
        )
    return found


def set_billing_profile(
    session: Session,
    *,
    org_id: int,
    legal_name: str,
    address_line: str,
    postcode: str,
    city: str,
    country: str,
    vat_id: str | None,
    po_number: str | None,
    exempt_reason: str | None,
    invoice_emails: Sequence[str],
    invoice_language: str,
    actor_label: str,
    now: datetime,
) -> BillingProfile:
    """Set a new version of the organisation's billing profile, all fields checked before any write; audited."""
    _check_org(session, org_id)
    country = check_country(country)
    vat_id, po_number, exempt_reason = _optional(vat_id), _optional(po_number), _optional(exempt_reason)
    fields = dict(
        legal_name=required_text(legal_name, field="legal name", max_length=200, code=ErrorCode.INVALID_NAME),
        address_line=required_text(address_line, field="address line", max_length=200, code=ErrorCode.INVALID_ADDRESS),
        postcode=required_text(postcode, field="postcode", max_length=20, code=ErrorCode.INVALID_ADDRESS),
        city=required_text(city, field="city", max_length=100, code=ErrorCode.INVALID_ADDRESS),
        country=country,
        vat_id=_buyer_vat_id(vat_id, country=country) if vat_id else None,
        po_number=required_text(po_number, field="PO number", max_length=100, code=ErrorCode.INVALID_PO_NUMBER)
        if po_number
        else None,
        exempt_reason=required_text(
            exempt_reason, field="exemption reason", max_length=200, code=ErrorCode.INVALID_EXEMPT_REASON
        )
        if exempt_reason
        else None,
        invoice_emails=_invoice_emails(invoice_emails),
        invoice_language=_language(invoice_language),
    )
    before = billing_profile_of(session, org_id=org_id)
    profile = BillingProfile(org_id=org_id, **fields, created_at=now, actor=actor_label)
    session.add(profile)
    events.audit_change(
        session,
        actor=actor_label,
        action="billing_profile.updated",
        row=profile,
        org_id=org_id,
        before=None if before is None else events.snapshot(before),
        at=now,
    )
    return profile


def buyers_of(session: Session, *, org_ids: Sequence[int]) -> dict[int, Buyer]:
    """Each organisation with a billing profile as VAT sees it (R24), in one query; one without is left out."""
    if not org_ids:
        return {}
    profiles = BillingProfile.__table__.c
    rows = session.execute(
        select(profiles.org_id, profiles.country, profiles.vat_id, profiles.exempt_reason).where(
            profiles.id.in_(_latest_ids(org_ids))
        )
    )
    return {
        # Only an EU VAT ID was checked, and only one makes a reverse charge.
        row.org_id: Buyer(
            country=row.country, vat_id=row.vat_id if row.country in EU else None, exempt_reason=row.exempt_reason
        )
        for row in rows
    }


@dataclass(frozen=True, slots=True)
class Versions:
    """The profile versions an invoice issued now names: the vendor's, and each organisation's (R23)."""

    vendor_id: int | None
    profile_ids: dict[int, int]  # by organisation; one without a billing profile is absent


def current_versions(session: Session, *, org_ids: Sequence[int]) -> Versions:
    """The latest version of the vendor's profile and of each organisation's billing profile, for a whole batch."""
    vendor_id = session.scalar(select(func.max(VendorProfileVersion.id)))
    if not org_ids:
        return Versions(vendor_id, {})
    profiles = BillingProfile.__table__.c
    found = session.execute(
        select(profiles.org_id, func.max(profiles.id)).where(profiles.org_id.in_(org_ids)).group_by(profiles.org_id)
    )
    return Versions(vendor_id, dict(found.all()))


def _latest_ids(org_ids: Sequence[int]) -> Any:
    # Ids only grow, so an organisation's latest version is its largest id.
    profiles = BillingProfile.__table__.c
    return select(func.max(profiles.id)).where(profiles.org_id.in_(org_ids)).group_by(profiles.org_id)


def _check_org(session: Session, org_id: int) -> None:
    if session.scalar(select(ORGANIZATIONS.c.id).where(ORGANIZATIONS.c.id == org_id)) is None:
        raise NotFound(f"unknown organisation {org_id}", code=ErrorCode.UNKNOWN_ORG)


def _optional(text: str | None) -> str | None:
    # An empty field of a form or body is a value left out.
    return text if text and text.strip() else None


def _buyer_vat_id(vat_id: str, *, country: str) -> str:
    if country in EU:
        return check_vat_id(vat_id, country=country)
    # Outside the EU no VAT is charged whatever the number (R24): it is printed as given, compacted.
    compact = re.sub(r"[\s.\-]", "", vat_id).upper()
    if not FOREIGN_TAX_ID.fullmatch(compact):
        raise BadInput(
            f"invalid VAT ID {vat_id!r}: expected 2 to 20 letters and digits, such as CHE123456789",
            code=ErrorCode.INVALID_VAT_ID,
        )
    return compact


def _invoice_emails(emails: Sequence[str]) -> list[str]:
    checked = list(dict.fromkeys(email_address(e) for e in emails if e and e.strip()))
    if len(checked) > MAX_INVOICE_EMAILS:
        raise BadInput(
            f"too many invoice e-mail addresses ({len(checked)}): expected at most {MAX_INVOICE_EMAILS}",
            code=ErrorCode.TOO_MANY_INVOICE_EMAILS,
        )
    return checked


def _language(locale: str) -> str:
    if locale not in LOCALES:
        raise BadInput(
            f"invalid invoice language {locale!r}: expected one of {', '.join(LOCALES)}",
            code=ErrorCode.INVALID_LOCALE,
        )
    return locale


def _prefix(text: str) -> str:
    upper = (text or "").strip().upper()
    if not PREFIX.fullmatch(upper):
        raise BadInput(
            f"invalid invoice prefix {text!r}: expected 1 to 10 letters or digits, such as SW",
            code=ErrorCode.INVALID_VALUE,
        )
    return upper
