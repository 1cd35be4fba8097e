"""Legal documents as Peppol BIS Billing 3.0 UBL 2.1 (R26): an Invoice (380) or a CreditNote (381) that passes
the UBL 2.1 schema and the EN 16931 rules. The same document always gives the same bytes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lxml import etree

from seatwise.core.documents import DocumentLine, Kind, LegalDocument, Party, PaymentMeans
from seatwise.core.money import exponent
from seatwise.core.vat import Category

CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
ROOTS = {
    Kind.INVOICE: ("urn:oasis:names:specification:ubl:schema:xsd:Invoice-2", "Invoice", "380"),
    Kind.CREDIT_NOTE: ("urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2", "CreditNote", "381"),
}
UNIT = "C62"  # UN/ECE Rec. 20 "one": a licence
# UNCL 4461: 48 bank card; 58 SEPA credit transfer (needs the IBAN, BR-61), else 1 not defined.
CARD_CODE, TRANSFER_CODE, UNDEFINED_CODE = "48", "58", "1"
# VATEX codes for the zero-rated categories whose reason is fixed by law; an exemption's reason is its text.
VATEX = {Category.REVERSE_CHARGE.value: "VATEX-EU-AE", Category.OUTSIDE_SCOPE.value: "VATEX-EU-O"}
# Peppol electronic address schemes (EAS) of VAT IDs, by country; a party without one is addressed by e-mail.
VAT_SCHEMES = {
    "AT": "9914",
    "BE": "9925",
    "DE": "9930",
    "ES": "9920",
    "FR": "9957",
    "IE": "9935",
    "IT": "0211",
    "LU": "9938",
    "NL": "9944",
    "PL": "9945",
    "PT": "9946",
    "SE": "9955",
}
KVK_SCHEME = "0106"  # the Dutch Chamber of Commerce number


def to_ubl(doc: LegalDocument) -> bytes:
    """The document as Peppol BIS Billing 3.0 UBL 2.1 XML, UTF-8."""
    namespace, root_name, type_code = ROOTS[doc.kind]
    # lxml keys the default namespace by None, which lxml-stubs does not allow for.
    nsmap = {None: namespace, "cac": CAC, "cbc": CBC}
    root = etree.Element(f"{{{namespace}}}{root_name}", nsmap=nsmap)  # type: ignore[arg-type]
    digits = exponent(doc.currency)
    credit_note = doc.kind is Kind.CREDIT_NOTE

    def money(parent: etree._Element, name: str, minor: int) -> None:
        _money(parent, name, minor, currency=doc.currency, digits=digits)

    _cbc(root, "CustomizationID", CUSTOMIZATION)
    _cbc(root, "ProfileID", PROFILE)
    _cbc(root, "ID", doc.number)
    _cbc(root, "IssueDate", _day(doc.issue_date))
    if not credit_note:  # a credit note's due date is its payment means' (UBL's CreditNote has no DueDate)
        _cbc(root, "DueDate", _day(doc.due_date))
    _cbc(root, "CreditNoteTypeCode" if credit_note else "InvoiceTypeCode", type_code)
    for note in doc.notes:
        _cbc(root, "Note", note)
    _cbc(root, "DocumentCurrencyCode", doc.currency)
    if doc.buyer_reference:
        _cbc(root, "BuyerReference", doc.buyer_reference)
    if doc.po_number:
        _cbc(_cac(root, "OrderReference"), "ID", doc.po_number)
    if doc.corrects_number:
        reference = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(reference, "ID", doc.corrects_number)
        if doc.corrects_date:
            _cbc(reference, "IssueDate", _day(doc.corrects_date))

    # Outside the scope of EU VAT, neither party's VAT ID may be given (BR-O-02, BR-O-03, BR-O-04).
    vat_ids = all(line.category != Category.OUTSIDE_SCOPE for line in doc.lines)
    _party(_cac(root, "AccountingSupplierParty"), doc.seller, seller=True, vat_ids=vat_ids)
    _party(_cac(root, "AccountingCustomerParty"), doc.buyer, seller=False, vat_ids=vat_ids)

    means = _cac(root, "PaymentMeans")
    transfer = doc.payment_means is PaymentMeans.TRANSFER
    _cbc(
        means,
        "PaymentMeansCode",
        CARD_CODE if not transfer else TRANSFER_CODE if doc.seller.iban else UNDEFINED_CODE,
    )
    if credit_note:
        _cbc(means, "PaymentDueDate", _day(doc.due_date))
    _cbc(means, "PaymentID", doc.number)
    if transfer and doc.seller.iban:
        _cbc(_cac(means, "PayeeFinancialAccount"), "ID", doc.seller.iban)

    tax_total = _cac(root, "TaxTotal")
    money(tax_total, "TaxAmount", doc.vat)
    for rate in doc.breakdown:
        subtotal = _cac(tax_total, "TaxSubtotal")
        money(subtotal, "TaxableAmount", rate.net)
        money(subtotal, "TaxAmount", rate.vat)
        category = _cac(subtotal, "TaxCategory")
        _category(category, rate.category, rate.rate)
        reason = doc.reason(rate.category)
        if rate.category in VATEX:
            _cbc(category, "TaxExemptionReasonCode", VATEX[rate.category])
        if reason and rate.category != Category.STANDARD:
            _cbc(category, "TaxExemptionReason", reason)
        _cbc(_cac(category, "TaxScheme"), "ID", "VAT")

    totals = _cac(root, "LegalMonetaryTotal")
    money(totals, "LineExtensionAmount", doc.net)
    money(totals, "TaxExclusiveAmount", doc.net)
    money(totals, "TaxInclusiveAmount", doc.gross)
    if doc.prepaid:
        money(totals, "PrepaidAmount", doc.prepaid)
    money(totals, "PayableAmount", doc.amount_due)

    for number, line in enumerate(doc.lines, 1):
        _line(root, number, line, credit_note=credit_note, currency=doc.currency, digits=digits)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _line(
    root: etree._Element, number: int, line: DocumentLine, *, credit_note: bool, currency: str, digits: int
) -> None:
    element = _cac(root, "CreditNoteLine" if credit_note else "InvoiceLine")
    _cbc(element, "ID", str(number))
    _cbc(element, "CreditedQuantity" if credit_note else "InvoicedQuantity", str(line.quantity), unitCode=UNIT)
    _money(element, "LineExtensionAmount", line.net, currency=currency, digits=digits)
    period = _cac(element, "InvoicePeriod")
    _cbc(period, "StartDate", _day(line.period_start))
    _cbc(period, "EndDate", _day(line.period_end))
    item = _cac(element, "Item")
    _cbc(item, "Name", line.description)
    tax = _cac(item, "ClassifiedTaxCategory")
    _category(tax, line.category, line.rate)
    _cbc(_cac(tax, "TaxScheme"), "ID", "VAT")
    price = _cac(element, "Price")
    _cbc(price, "PriceAmount", format(line.unit_price, "f"), currencyID=currency)
    _cbc(price, "BaseQuantity", "1", unitCode=UNIT)


def _party(parent: etree._Element, who: Party, *, seller: bool, vat_ids: bool) -> None:
    party = _cac(parent, "Party")
    endpoint = _endpoint(who, seller=seller)
    if endpoint:
        _cbc(party, "EndpointID", endpoint[1], schemeID=endpoint[0])
    _cbc(_cac(party, "PartyName"), "Name", who.legal_name)
    address = _cac(party, "PostalAddress")
    if who.address_line:
        _cbc(address, "StreetName", who.address_line)
    if who.city:
        _cbc(address, "CityName", who.city)
    if who.postcode:
        _cbc(address, "PostalZone", who.postcode)
    _cbc(_cac(address, "Country"), "IdentificationCode", who.country)
    if who.vat_id and vat_ids:
        scheme = _cac(party, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", who.vat_id)
        _cbc(_cac(scheme, "TaxScheme"), "ID", "VAT")
    legal = _cac(party, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", who.legal_name)
    if who.company_id:
        _cbc(legal, "CompanyID", who.company_id)
    if who.email:
        _cbc(_cac(party, "Contact"), "ElectronicMail", who.email)


def _endpoint(who: Party, *, seller: bool) -> tuple[str, str] | None:
    """Where a Peppol access point delivers: the Dutch vendor by its KvK number, else a party by its VAT ID
    where its country has a scheme for one, else by e-mail."""
    if seller and who.country == "NL" and who.company_id:
        return KVK_SCHEME, who.company_id
    if who.vat_id and who.country in VAT_SCHEMES:
        return VAT_SCHEMES[who.country], who.vat_id
    return ("EM", who.email) if who.email else None


def _category(parent: etree._Element, category: str, rate: Decimal) -> None:
    _cbc(parent, "ID", category)
    if category != Category.OUTSIDE_SCOPE:  # outside the scope of VAT there is no rate at all (BR-O-05, BR-O-09)
        _cbc(parent, "Percent", format(rate, "f"))


def _money(parent: etree._Element, name: str, minor: int, *, currency: str, digits: int) -> None:
    _cbc(parent, name, format(Decimal(minor).scaleb(-digits), f".{digits}f"), currencyID=currency)


def _day(day: date) -> str:
    return day.isoformat()


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC}}}{name}")


def _cbc(parent: etree._Element, name: str, text: str, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CBC}}}{name}", attributes)
    element.text = text
    return element
