"""R23–R26 end to end, on both databases: each kind of legal document made by a real billing run (or a real
cancellation) from the vendor's and the organisation's profiles, then validated against the UBL 2.1 schema and
the CEN EN 16931 rules, with its VAT and its wording checked. Seven documents per database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import etree

from seatwise.billing import credit_notes, documents, ubl
from seatwise.billing import service as billing
from seatwise.billing.pdf import document_pdf
from seatwise.core.roles import OPERATOR
from seatwise.licenses import service as licenses
from seatwise.subscriptions import service as subscriptions
from seatwise.tax import service as tax
from tests.billing.en16931 import validate
from tests.billing.test_vat import VENDOR
from tests.factories import run_billing, world
from tests.web.test_pdf import pdf_text

T0, NOV_2 = datetime(2026, 11, 1, 9, 30, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)
NS = {"cbc": ubl.CBC, "cac": ubl.CAC}
PROFILES = {
    "domestic": dict(country="NL", vat_id="NL000099998B57", city="Utrecht", language="nl"),
    "reverse_charge": dict(country="BE", vat_id="BE0776091951", city="Brussel", language="nl"),
    "oss_consumer": dict(country="DE", vat_id=None, city="Berlin", language="en"),
    "outside_eu": dict(country="US", vat_id=None, city="Seattle", language="en"),
    "exempt": dict(country="NL", vat_id=None, city="Leiden", language="nl", exempt="Vrijgesteld, art. 11 Wet OB"),
}


def _customer(s, *, kind: str, seats: int = 10):
    """The vendor (under OSS), an organisation with the billing profile of `kind`, and 10 × €12.50 bought."""
    tax.set_vendor(s, **{**VENDOR, "oss": True}, actor_label=OPERATOR.label, now=T0)
    w = world(s, now=T0, users=0)
    p = PROFILES[kind]
    tax.set_billing_profile(
        s,
        org_id=w.org_id,
        legal_name=f"{kind} customer",
        address_line="Main street 1",
        postcode="1000",
        city=p["city"],
        country=p["country"],
        vat_id=p["vat_id"],
        po_number="PO-4711",
        exempt_reason=p.get("exempt"),
        invoice_emails=("ap@customer.example",),
        invoice_language=p["language"],
        actor_label=OPERATOR.label,
        now=T0,
    )
    sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=seats, actor=w.billing_admin, now=T0)
    return w, sub


def _tax_total(xml: bytes) -> list[tuple[str, str, str]]:
    tree = etree.fromstring(xml)
    return [
        (
            sub.findtext("cac:TaxCategory/cbc:ID", namespaces=NS),
            sub.findtext("cac:TaxCategory/cbc:Percent", namespaces=NS) or "",
            sub.findtext("cbc:TaxAmount", namespaces=NS),
        )
        for sub in tree.iterfind("cac:TaxTotal/cac:TaxSubtotal", namespaces=NS)
    ]


@pytest.mark.parametrize(
    "kind, category, rate, vat, payable, wording",
    [
        # 10 × €12.50 = €125.00 net; 21 % of it is €26.25: €151.25 (the worked example)
        ("domestic", "S", "21", "26.25", "151.25", None),
        # a Belgian business with a valid VAT ID: reverse charge, no VAT, "btw verlegd" on the Dutch PDF
        ("reverse_charge", "AE", "0", "0.00", "125.00", "Btw verlegd"),
        # a German consumer, the vendor under OSS: Germany's 19 % of €125.00 = €23.75
        ("oss_consumer", "S", "19", "23.75", "148.75", None),
        # outside the EU: outside the scope of EU VAT, no rate at all (BR-O-05)
        ("outside_eu", "O", "", "0.00", "125.00", "Not subject to EU VAT"),
        ("exempt", "E", "0", "0.00", "125.00", "Vrijgesteld, art. 11 Wet OB"),
    ],
)
def test_r24_r26_a_real_invoice_of_each_vat_treatment_is_valid_ubl_with_its_vat_and_wording(
    uow, kind, category, rate, vat, payable, wording
):
    with uow() as s:
        w, _ = _customer(s, kind=kind)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=w.org_id)
        doc = documents.invoice_document(s, invoice_id=invoice.id)
    xml = ubl.to_ubl(doc)
    assert validate(xml) == []
    assert _tax_total(xml) == [(category, rate, vat)]
    tree = etree.fromstring(xml)
    assert tree.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS) == payable
    assert tree.findtext("cbc:BuyerReference", namespaces=NS) == "PO-4711"
    assert tree.findtext(
        ".//cac:AccountingCustomerParty//cac:PartyLegalEntity/cbc:RegistrationName", namespaces=NS
    ) == (f"{kind} customer")
    text = pdf_text(document_pdf(doc))
    assert f"{kind} customer Main street 1 1000 {PROFILES[kind]['city']} {PROFILES[kind]['country']}" in text
    if wording:
        assert wording.lower() in text.lower(), text


def test_r25_r26_a_real_credit_note_for_a_reverse_charged_cancellation_is_valid_ubl_naming_its_invoice(uow):
    with uow() as s:
        w, sub = _customer(s, kind="reverse_charge")
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=datetime(2026, 11, 3, 10, tzinfo=UTC))
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=w.org_id)
        [note] = credit_notes.list_credit_notes(s, org_id=w.org_id)
        doc = documents.credit_note_document(s, credit_note_id=note.id)
    xml = ubl.to_ubl(doc)
    assert validate(xml) == []
    tree = etree.fromstring(xml)
    assert etree.QName(tree).localname == "CreditNote"
    assert tree.findtext("cbc:CreditNoteTypeCode", namespaces=NS) == "381"
    assert tree.findtext("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", namespaces=NS) == invoice.number
    # 27/30 of €125.00 = €112.50 back, reverse charged as the invoice it corrects was
    assert _tax_total(xml) == [("AE", "0", "0.00")]
    assert tree.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS) == "112.50"
    assert "btw verlegd" in pdf_text(document_pdf(doc)).lower()


def test_r26_a_real_invoice_with_charges_and_credits_of_its_own_lines_is_valid_ubl(uow):
    with uow() as s:
        w, sub = _customer(s, kind="domestic")
        s.flush()
        # cut down before the first invoice: the credit corrects a line of the same invoice
        licenses.set_total(s, sub_id=sub.id, total=7, actor=w.billing_admin, now=datetime(2026, 11, 1, 12, tzinfo=UTC))
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=w.org_id)
        doc = documents.invoice_document(s, invoice_id=invoice.id)
    # 3 removed on day 1 of 30: 3 × 1250 × 29/30 = 3625 back; 12500 − 3625 = 8875 at 21 % = 1863.75 → 1864
    assert [(line.quantity, line.net) for line in doc.lines] == [(10, 12500), (-3, -3625)]
    xml = ubl.to_ubl(doc)
    assert validate(xml) == []
    assert _tax_total(xml) == [("S", "21", "18.64")]
    assert etree.fromstring(xml).findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS) == "107.39"
