"""Issued invoices as legal documents (R26), and those documents as files: the UBL 2.1 XML and the PDF.

Every export works on a `LegalDocument`, invoices and credit notes (R25) alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from seatwise.billing import charges, credit_notes, service
from seatwise.billing.models import Charge, CreditNote
from seatwise.billing.pdf import document_pdf
from seatwise.billing.ubl import to_ubl
from seatwise.core.documents import DocumentLine, Kind, LegalDocument, Party, PaymentMeans, unit_price
from seatwise.core.errors import BadInput, ErrorCode, NotFound
from seatwise.core.invoicing import MethodKind, PaymentKind
from seatwise.core.money import exponent
from seatwise.core.vat import Category
from seatwise.db import get_existing
from seatwise.i18n import gettext
from seatwise.organizations.models import Organization
from seatwise.organizations.service import get_org
from seatwise.payments.models import Payment, PaymentMethod
from seatwise.tax import service as tax
from seatwise.tax.models import BillingProfile, VendorProfile, VendorProfileVersion

ZERO_RATED = (Category.REVERSE_CHARGE.value, Category.EXEMPT.value, Category.OUTSIDE_SCOPE.value)


def invoice_document(session: Session, *, invoice_id: int) -> LegalDocument:
    """An issued invoice with its lines, the vendor and the buyer, as the legal document (R26)."""
    invoice = service.get_invoice(session, invoice_id=invoice_id)
    method = session.get(PaymentMethod, invoice.payment_method_id) if invoice.payment_method_id else None
    # Credit notes that paid it when it was issued (R16): paid before issue, as EN 16931 BT-113 has it.
    prepaid = session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0)).where(
            Payment.invoice_id == invoice.id,
            Payment.kind == PaymentKind.CREDIT,
            Payment.credit_note_id.is_not(None),
            Payment.at == invoice.issued_at,
        )
    )
    return _document(
        session,
        kind=Kind.INVOICE,
        number=invoice.number,
        org_id=invoice.org_id,
        currency=invoice.currency,
        issued=invoice.issued_at,
        due=invoice.due_at,
        rows=service.lines_of(session, invoice_id=invoice_id),
        by_transfer=method is not None and method.kind == MethodKind.INVOICE,
        parties=(invoice.vendor_version_id, invoice.billing_profile_id),
        prepaid=int(prepaid or 0),  # a sum is a Decimal on PostgreSQL
    )


def credit_note_document(session: Session, *, credit_note_id: int) -> LegalDocument:
    """An issued credit note with its lines and the invoice it corrects, as the legal document (R25, R26)."""
    note = get_existing(session, CreditNote, credit_note_id)
    corrected = service.get_invoice(session, invoice_id=note.invoice_id)
    return _document(
        session,
        kind=Kind.CREDIT_NOTE,
        number=note.number,
        org_id=note.org_id,
        currency=note.currency,
        issued=note.issued_at,
        due=note.issued_at,
        rows=credit_notes.lines_of(session, credit_note_id=note.id),
        by_transfer=False,
        parties=(note.vendor_version_id, note.billing_profile_id),
        corrects=(corrected.number, corrected.issued_at.date()),
    )


def _document(
    session: Session,
    *,
    kind: Kind,
    number: str,
    org_id: int,
    currency: str,
    issued: datetime,
    due: datetime,
    rows: list[Charge],
    by_transfer: bool,
    parties: tuple[int | None, int | None],
    prepaid: int = 0,
    corrects: tuple[str, date] | None = None,
) -> LegalDocument:
    vendor_version, profile_id = parties
    vendor = session.get(VendorProfileVersion, vendor_version) if vendor_version else tax.vendor_profile(session)
    assert vendor is not None  # a foreign key
    if any(row.vat_category is None or row.vat_rate is None for row in rows):
        raise NotFound(
            f"{number} was issued without VAT, before the vendor's legal profile was set: it has no legal document",
            code=ErrorCode.NO_VENDOR_PROFILE,
        )
    org = get_org(session, org_id=org_id)
    profile = session.get(BillingProfile, profile_id) if profile_id else None
    buyer, language, po_number = _buyer(org, vendor, profile)
    digits = exponent(currency)
    # A credit note lists what it gives back as positive amounts; an invoice its credits as negative ones.
    sign = -1 if kind is Kind.CREDIT_NOTE else 1
    lines = tuple(_line(row, digits, sign, language) for row in rows)
    categories = {line.category for line in lines}
    reasons = tuple(
        (
            c,
            profile.exempt_reason
            if c == Category.EXEMPT and profile and profile.exempt_reason
            else gettext(language, f"vat:{c}"),
        )
        for c in ZERO_RATED
        if c in categories
    )
    return LegalDocument(
        kind=kind,
        number=number,
        issue_date=issued.date(),
        due_date=due.date(),
        currency=currency,
        seller=_seller(vendor),
        buyer=buyer,
        lines=lines,
        language=language,
        payment_means=PaymentMeans.TRANSFER if by_transfer else PaymentMeans.CARD,
        prepaid=prepaid,
        # Peppol asks for a buyer reference or an order number: without a PO, the organisation's customer number.
        buyer_reference=po_number or str(org.id),
        po_number=po_number,
        corrects_number=corrects[0] if corrects else None,
        corrects_date=corrects[1] if corrects else None,
        reasons=reasons,
        notes=tuple(wording for _category, wording in reasons),
    )


class File(NamedTuple):
    """A document as a file to download or attach."""

    content: bytes
    media_type: str
    filename: str


FORMATS: dict[str, tuple[Callable[[LegalDocument], bytes], str, str]] = {
    "ubl": (to_ubl, "application/xml", "xml"),
    "pdf": (document_pdf, "application/pdf", "pdf"),
}


def check_format(name: str) -> str:
    """One of the formats a document is exported in, or BadInput."""
    if name not in FORMATS:
        raise BadInput(
            f"unknown document format {name!r}: expected one of {', '.join(FORMATS)}", code=ErrorCode.INVALID_VALUE
        )
    return name


def as_file(doc: LegalDocument, *, format: str) -> File:
    """The legal document as UBL XML or PDF."""
    render, media_type, extension = FORMATS[check_format(format)]
    return File(render(doc), media_type, f"{doc.number}.{extension}")


def _seller(vendor: VendorProfile | VendorProfileVersion) -> Party:
    return Party(
        legal_name=vendor.name,
        address_line=vendor.address_line,
        postcode=vendor.postcode,
        city=vendor.city,
        country=vendor.country,
        vat_id=vendor.vat_id,
        company_id=vendor.company_id,
        iban=vendor.iban,
    )


def _buyer(
    org: Organization, vendor: VendorProfile | VendorProfileVersion, profile: BillingProfile | None
) -> tuple[Party, str, str | None]:
    """The buyer, its invoice language and its PO number, from the billing profile the document names (R23);
    without one, the organisation's name in the vendor's country, as its VAT was decided (billing.taxes)."""
    if profile is None:
        return Party(legal_name=org.name, country=vendor.country), org.locale, None
    party = Party(
        legal_name=profile.legal_name,
        address_line=profile.address_line,
        postcode=profile.postcode,
        city=profile.city,
        country=profile.country,
        vat_id=profile.vat_id,
        email=profile.invoice_emails[0] if profile.invoice_emails else None,
    )
    return party, profile.invoice_language, profile.po_number


def _line(charge: Charge, digits: int, sign: int, language: str) -> DocumentLine:
    assert charge.vat_category is not None and charge.vat_rate is not None  # refused above
    net = sign * charge.amount
    return DocumentLine(
        description=charges.describe(charge, language),
        quantity=-charge.quantity if net < 0 else charge.quantity,
        unit_price=unit_price(net, charge.quantity, exponent=digits),
        net=net,
        period_start=charge.period_start.date(),
        period_end=max(charge.period_start.date(), (charge.period_end - timedelta(days=1)).date()),
        category=charge.vat_category,
        rate=Decimal(charge.vat_rate),
    )
