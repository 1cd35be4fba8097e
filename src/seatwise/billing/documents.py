"""Issued invoices as legal documents (R26), and those documents as files: the UBL 2.1 XML and the PDF.

Every export works on a `LegalDocument`, so credit notes (R25) get the same files by adding their builder beside
`invoice_document`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy.orm import Session

from seatwise.billing import service
from seatwise.billing.models import Charge
from seatwise.billing.pdf import document_pdf
from seatwise.billing.ubl import to_ubl
from seatwise.core.documents import DocumentLine, Kind, LegalDocument, Party, PaymentMeans, unit_price
from seatwise.core.errors import BadInput, ErrorCode, NotFound
from seatwise.core.invoicing import MethodKind
from seatwise.core.money import exponent
from seatwise.core.vat import Category
from seatwise.i18n import gettext
from seatwise.organizations.models import Organization
from seatwise.organizations.service import get_org
from seatwise.payments.models import PaymentMethod
from seatwise.tax import service as tax
from seatwise.tax.models import VendorProfile

ZERO_RATED = (Category.REVERSE_CHARGE.value, Category.EXEMPT.value, Category.OUTSIDE_SCOPE.value)


def invoice_document(session: Session, *, invoice_id: int) -> LegalDocument:
    """An issued invoice with its lines, the vendor and the buyer, as the legal document (R26)."""
    invoice = service.get_invoice(session, invoice_id=invoice_id)
    vendor = tax.vendor_profile(session)
    charges = service.lines_of(session, invoice_id=invoice_id)
    if any(charge.vat_category is None or charge.vat_rate is None for charge in charges):
        raise NotFound(
            f"invoice {invoice.number} was issued without VAT, before the vendor's legal profile was set: it has no "
            "legal document",
            code=ErrorCode.NO_VENDOR_PROFILE,
        )
    org = get_org(session, org_id=invoice.org_id)
    buyer, language, po_number = _buyer(org, vendor)
    digits = exponent(invoice.currency)
    lines = tuple(_line(charge, digits) for charge in charges)
    method = session.get(PaymentMethod, invoice.payment_method_id) if invoice.payment_method_id else None
    categories = {line.category for line in lines}
    reasons = tuple((c, gettext(language, f"vat:{c}")) for c in ZERO_RATED if c in categories)
    return LegalDocument(
        kind=Kind.INVOICE,
        number=invoice.number,
        issue_date=invoice.issued_at.date(),
        due_date=invoice.due_at.date(),
        currency=invoice.currency,
        seller=_seller(vendor),
        buyer=buyer,
        lines=lines,
        language=language,
        payment_means=PaymentMeans.TRANSFER
        if method is not None and method.kind == MethodKind.INVOICE
        else PaymentMeans.CARD,
        # Peppol asks for a buyer reference or an order number: without a PO, the organisation's customer number.
        buyer_reference=po_number or str(org.id),
        po_number=po_number,
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


def _seller(vendor: VendorProfile) -> Party:
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


def _buyer(org: Organization, vendor: VendorProfile) -> tuple[Party, str, str | None]:
    """The buyer, its invoice language and its PO number. Until organisations have billing profiles (R23), the
    organisation's name in the vendor's country, as its VAT was decided (billing.taxes)."""
    return Party(legal_name=org.name, country=vendor.country), org.locale, None


def _line(charge: Charge, digits: int) -> DocumentLine:
    assert charge.vat_category is not None and charge.vat_rate is not None  # refused above
    return DocumentLine(
        description=charge.description,
        quantity=-charge.quantity if charge.amount < 0 else charge.quantity,
        unit_price=unit_price(charge.amount, charge.quantity, exponent=digits),
        net=charge.amount,
        period_start=charge.period_start.date(),
        period_end=max(charge.period_start.date(), (charge.period_end - timedelta(days=1)).date()),
        category=charge.vat_category,
        rate=Decimal(charge.vat_rate),
    )
