"""Invoices and credit notes as Peppol BIS Billing 3.0 UBL 2.1 (R26), checked against the UBL 2.1 schema and the
CEN EN 16931 rules (tests/billing/en16931.py): the seven VAT situations of R24 built from legal documents directly,
and real invoices from a billing run on both databases."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from seatwise.billing import ubl
from seatwise.core.documents import DocumentLine, Kind, LegalDocument, Party, PaymentMeans, unit_price
from tests.billing.en16931 import rule_failures, schema_errors, validate

NS = {"cbc": ubl.CBC, "cac": ubl.CAC}
VENDOR = Party(
    legal_name="Seatwise B.V.",
    address_line="Keizersgracht 1",
    postcode="1015 CJ",
    city="Amsterdam",
    country="NL",
    vat_id="NL000099998B57",
    company_id="12345678",
    iban="NL91ABNA0417164300",
    email="billing@seatwise.example",
)
DUTCH = Party(legal_name="Contoso B.V.", address_line="Damrak 5", postcode="1012 LG", city="Amsterdam", country="NL")
BELGIAN = Party(
    legal_name="Fabrikam NV",
    address_line="Grote Markt 1",
    postcode="1000",
    city="Brussel",
    country="BE",
    vat_id="BE0403019261",
)
GERMAN = Party(
    legal_name="Erika Mustermann", address_line="Unter den Linden 1", postcode="10117", city="Berlin", country="DE"
)
AMERICAN = Party(legal_name="Northwind Inc.", address_line="1 Main St", postcode="98052", city="Redmond", country="US")
NOV_1, NOV_30, DEC_1 = date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 1)


def line(net: int, quantity: int, category: str = "S", rate: str = "21", *, start=NOV_1, end=NOV_30) -> DocumentLine:
    return DocumentLine(
        description=f"{abs(quantity)} licences of BIZ product",
        quantity=quantity,
        unit_price=unit_price(net, quantity, exponent=2),
        net=net,
        period_start=start,
        period_end=end,
        category=category,
        rate=Decimal(rate),
    )


def invoice(*lines: DocumentLine, buyer: Party = DUTCH, **fields) -> LegalDocument:
    defaults = dict(
        kind=Kind.INVOICE,
        number="SW-2026-000001",
        issue_date=NOV_1,
        due_date=DEC_1,
        currency="EUR",
        seller=VENDOR,
        language="en",
        payment_means=PaymentMeans.TRANSFER,
        buyer_reference="PO-4711",
        po_number="PO-4711",
    )
    return LegalDocument(buyer=buyer, lines=lines or (line(12500, 10),), **{**defaults, **fields})


def values(xml: bytes, path: str) -> list[str]:
    return [e.text for e in etree.fromstring(xml).iterfind(path, NS)]


def test_r26_domestic_nl_invoice_at_21_percent_passes_the_schema_and_en16931():
    xml = ubl.to_ubl(invoice())
    assert validate(xml) == []
    assert etree.QName(etree.fromstring(xml)).localname == "Invoice"
    assert values(xml, "cbc:CustomizationID") == [ubl.CUSTOMIZATION]
    assert values(xml, "cbc:ProfileID") == [ubl.PROFILE]
    assert values(xml, "cbc:InvoiceTypeCode") == ["380"]
    assert values(xml, "cac:TaxTotal/cbc:TaxAmount") == ["26.25"]
    assert values(xml, "cac:LegalMonetaryTotal/cbc:PayableAmount") == ["151.25"]
    assert values(xml, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == ["NL91ABNA0417164300"]
    assert values(xml, "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID") == ["12345678"]


def test_r26_reverse_charge_nl_to_be_is_ae_at_0_with_its_wording_and_both_vat_ids():
    doc = invoice(
        line(12500, 10, "AE", "0"),
        buyer=BELGIAN,
        reasons=(("AE", "VAT reverse charged"),),
        notes=("VAT reverse charged",),
    )
    xml = ubl.to_ubl(doc)
    assert validate(xml) == []
    assert values(xml, ".//cac:TaxSubtotal/cac:TaxCategory/cbc:ID") == ["AE"]
    assert values(xml, ".//cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReason") == ["VAT reverse charged"]
    assert values(xml, ".//cac:PartyTaxScheme/cbc:CompanyID") == ["NL000099998B57", "BE0403019261"]
    assert values(xml, "cac:LegalMonetaryTotal/cbc:PayableAmount") == ["125.00"]


def test_r26_reverse_charge_without_the_buyers_vat_id_is_caught():
    doc = invoice(line(12500, 10, "AE", "0"), buyer=dataclasses.replace(BELGIAN, vat_id=None))
    assert any(f.startswith("BR-AE-") for f in validate(ubl.to_ubl(doc)))


def test_r26_oss_consumer_in_germany_pays_19_percent():
    xml = ubl.to_ubl(invoice(line(12500, 10, "S", "19"), buyer=GERMAN, payment_means=PaymentMeans.CARD))
    assert validate(xml) == []
    assert values(xml, ".//cac:TaxSubtotal/cac:TaxCategory/cbc:Percent") == ["19"]
    assert values(xml, "cac:TaxTotal/cbc:TaxAmount") == ["23.75"]
    assert values(xml, "cac:PaymentMeans/cbc:PaymentMeansCode") == ["48"]


def test_r26_customer_outside_the_eu_is_o_without_vat_ids_or_rate():
    doc = invoice(line(12500, 10, "O", "0"), buyer=AMERICAN, reasons=(("O", "Not subject to EU VAT"),))
    xml = ubl.to_ubl(doc)
    assert validate(xml) == []
    assert values(xml, ".//cac:PartyTaxScheme/cbc:CompanyID") == []  # BR-O-02
    assert values(xml, ".//cac:TaxCategory/cbc:Percent") == []
    assert values(xml, ".//cac:TaxCategory/cbc:TaxExemptionReasonCode") == ["VATEX-EU-O"]


def test_r26_exempt_organisation_is_e_with_its_reason():
    doc = invoice(line(12500, 10, "E", "0"), reasons=(("E", "Exempt under article 132 of the VAT Directive"),))
    xml = ubl.to_ubl(doc)
    assert validate(xml) == []
    assert values(xml, ".//cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReason") == [
        "Exempt under article 132 of the VAT Directive"
    ]


def test_r26_exempt_without_a_reason_is_caught():
    assert any(f.startswith("BR-E-10") for f in validate(ubl.to_ubl(invoice(line(12500, 10, "E", "0")))))


def test_r26_credit_note_is_381_refers_to_the_invoice_it_corrects():
    doc = dataclasses.replace(
        invoice(line(11250, 10, start=date(2026, 11, 4))),
        kind=Kind.CREDIT_NOTE,
        number="CN-2026-000001",
        issue_date=date(2026, 11, 3),
        due_date=date(2026, 11, 3),
        corrects_number="SW-2026-000001",
        corrects_date=NOV_1,
    )
    xml = ubl.to_ubl(doc)
    assert validate(xml) == []
    assert etree.QName(etree.fromstring(xml)).localname == "CreditNote"
    assert values(xml, "cbc:CreditNoteTypeCode") == ["381"]
    assert values(xml, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == ["SW-2026-000001"]
    assert values(xml, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate") == ["2026-11-01"]
    assert values(xml, "cac:CreditNoteLine/cbc:CreditedQuantity") == ["10"]
    assert values(xml, "cac:LegalMonetaryTotal/cbc:PayableAmount") == ["136.13"]  # 112.50 + 23.625 rounded up


def test_r26_invoice_with_charges_and_prorated_credits_adds_up_to_the_cent():
    """5 licences × 27/30 days (56.25), 3 licences back × 10/30 days (−12.50), 12 renewed (150.00): the credit's unit
    price has more decimals than a cent, so that 3 × it rounds to exactly 12.50 (BR-CO-10, BR-CO-13, BR-CO-15)."""
    lines = (
        line(5625, 5, start=date(2026, 11, 4)),
        line(-1250, -3, start=date(2026, 11, 21)),
        line(15000, 12, start=DEC_1, end=date(2026, 12, 31)),
    )
    doc = invoice(*lines, issue_date=DEC_1)
    xml = ubl.to_ubl(doc)
    assert validate(xml) == []
    assert values(xml, "cac:InvoiceLine/cbc:InvoicedQuantity") == ["5", "-3", "12"]
    assert values(xml, "cac:InvoiceLine/cac:Price/cbc:PriceAmount") == ["11.25", "4.167", "12.50"]
    assert (doc.net, doc.vat, doc.gross) == (19375, 4069, 23444)  # 193.75 × 21 % = 40.6875, rounded once
    assert values(xml, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount") == ["234.44"]


def test_r26_a_wrong_total_is_caught():
    xml = ubl.to_ubl(invoice())
    broken = xml.replace(
        b'<cbc:TaxInclusiveAmount currencyID="EUR">151.25', b'<cbc:TaxInclusiveAmount currencyID="EUR">151.26'
    )
    assert broken != xml
    failed = {f.rule for f in rule_failures(broken) if f.flag == "fatal"}
    assert "BR-CO-15" in failed


def test_r26_a_document_the_schema_refuses_is_caught():
    broken = ubl.to_ubl(invoice()).replace(b"<cbc:IssueDate>2026-11-01", b"<cbc:IssueDate>1 November 2026")
    assert schema_errors(broken)
    assert validate(broken)


def test_r26_same_document_same_bytes():
    assert ubl.to_ubl(invoice()) == ubl.to_ubl(invoice())


@given(net=st.integers(-(10**9), 10**9), quantity=st.integers(1, 10**6))
def test_r26_unit_price_times_quantity_rounds_to_the_line_net(net, quantity):
    quantity = quantity if net >= 0 else -quantity
    price = unit_price(net, quantity, exponent=2)
    assert price >= 0
    assert (price * quantity * 100).quantize(Decimal(1), rounding="ROUND_HALF_UP") == net
