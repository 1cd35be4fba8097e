"""Issued invoices as their legal documents (R26) on both databases: the document built from a real billing run,
its UBL validated against the UBL 2.1 schema and the EN 16931 rules, its PDF's legal content read back, and the
exports over the CLI, the API and the admin center, each as private as the invoice itself."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from lxml import etree

from seatwise.billing import documents, ubl
from seatwise.billing import service as billing
from seatwise.billing.pdf import document_pdf
from seatwise.core.documents import Kind, PaymentMeans
from seatwise.core.errors import ErrorCode, NotFound
from seatwise.core.roles import OPERATOR
from seatwise.licenses import service as licenses
from seatwise.subscriptions import service as subscriptions
from seatwise.tax import service as tax
from tests.api import client_with_key
from tests.billing.en16931 import validate
from tests.billing.test_ubl import BELGIAN, invoice, line
from tests.billing.test_vat import VENDOR as VENDOR_PROFILE
from tests.cli.conftest import Cli, one_line_error
from tests.conftest import T0
from tests.factories import add_method, run_billing, world
from tests.web.test_pdf import pdf_text

NOV_2, DEC_1 = datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
NS = {"cbc": ubl.CBC, "cac": ubl.CAC}


def _invoiced(uow, *, locale: str = "en", by_invoice: bool = False):
    """A Dutch VAT-registered vendor; 10 licences at €12.50 bought on 1 November, invoiced on 2 November."""
    with uow() as s:
        tax.set_vendor(s, **VENDOR_PROFILE, actor_label=OPERATOR.label, now=T0)
        w = world(s, now=T0, users=0, locale=locale, card=not by_invoice)
        if by_invoice:
            add_method(s, org_id=w.org_id, card_number=None, expiry=None, invoice=True, actor=OPERATOR, now=T0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        [found] = billing.list_invoices(s, org_id=w.org_id)
    return w, sub, found


def test_r26_a_real_domestic_nl_invoice_is_a_valid_peppol_ubl_invoice(uow):
    _w, _sub, found = _invoiced(uow, by_invoice=True)
    with uow() as s:
        doc = documents.invoice_document(s, invoice_id=found.id)
        stored = billing.get_invoice(s, invoice_id=found.id)
        assert (doc.net, doc.vat, doc.amount_due) == (stored.net, stored.vat, stored.amount_due) == (12500, 2625, 15125)
    assert (doc.number, doc.issue_date, doc.due_date) == ("SW-2026-000001", date(2026, 11, 2), date(2026, 12, 2))
    assert (doc.seller.legal_name, doc.seller.vat_id, doc.seller.company_id) == (
        "Seatwise B.V.",
        "NL000099998B57",
        "12345678",
    )
    assert (doc.buyer.legal_name, doc.buyer.country) == ("Contoso", "NL")
    assert doc.payment_means is PaymentMeans.TRANSFER
    [first] = doc.lines
    assert (first.quantity, first.unit_price, first.period_start, first.period_end) == (
        10,
        Decimal("12.50"),
        date(2026, 11, 1),
        date(2026, 11, 30),
    )
    xml = ubl.to_ubl(doc)
    assert validate(xml) == []
    tree = etree.fromstring(xml)
    assert tree.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS) == "151.25"
    assert tree.findtext("cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID", namespaces=NS) == "NL91ABNA0417164300"


def test_r26_a_real_invoice_with_prorated_charges_and_credits_is_valid_and_adds_up(uow):
    w, sub, _ = _invoiced(uow)
    with uow() as s:
        licenses.set_total(s, sub_id=sub.id, total=15, actor=w.billing_admin, now=datetime(2026, 11, 4, 10, tzinfo=UTC))
    with uow() as s:  # corrects the invoiced November: a credit note of 3 × 1250 × 10/30 = 1250 + 21 % (R25)
        licenses.set_total(
            s, sub_id=sub.id, total=12, actor=w.billing_admin, now=datetime(2026, 11, 20, 10, tzinfo=UTC)
        )
    run_billing(uow, as_of=DEC_1)
    with uow() as s:
        december = billing.list_invoices(s, org_id=w.org_id)[-1]
        doc = documents.invoice_document(s, invoice_id=december.id)
        stored = billing.get_invoice(s, invoice_id=december.id)
    assert [(x.quantity, x.net) for x in doc.lines] == [(5, 5625), (12, 15000)]
    # 1250 + 262.5 → 263 of VAT: the credit note paid 1513 of it when it was issued
    assert (doc.net, doc.vat, doc.prepaid, doc.amount_due) == (stored.net, stored.vat, 1513, stored.amount_due - 1513)
    assert validate(ubl.to_ubl(doc)) == []
    # A subscription bought and cut down before its first invoice: the credit is a line of that invoice.
    bought = datetime(2026, 12, 5, 10, tzinfo=UTC)
    with uow() as s:
        other = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=4, actor=w.billing_admin, now=bought)
        s.flush()
        licenses.set_total(s, sub_id=other.id, total=1, actor=w.billing_admin, now=bought + timedelta(hours=1))
    run_billing(uow, as_of=datetime(2026, 12, 6, tzinfo=UTC))
    with uow() as s:
        both = billing.list_invoices(s, org_id=w.org_id)[-1]
        doc = documents.invoice_document(s, invoice_id=both.id)
        stored = billing.get_invoice(s, invoice_id=both.id)
    # 5 Dec – 5 Jan is 31 days; removed on day 1, 3 × 1250 × 30/31 = 3629.03 → 3629 comes off
    assert [(x.quantity, x.net) for x in doc.lines] == [(4, 5000), (-3, -3629)]
    assert (doc.net, doc.vat, doc.amount_due) == (stored.net, stored.vat, stored.amount_due) == (1371, 288, 1659)
    assert validate(ubl.to_ubl(doc)) == []


def test_r26_without_a_vendor_profile_there_is_no_legal_document(uow, db_url):
    with uow() as s:
        w = world(s, now=T0, users=0)
        subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=1, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        [found] = billing.list_invoices(s, org_id=w.org_id)
        with pytest.raises(NotFound) as raised:
            documents.invoice_document(s, invoice_id=found.id)
    assert raised.value.code is ErrorCode.NO_VENDOR_PROFILE
    res = Cli(db_url)("invoice", "export", found.id, "--format", "pdf", json_output=False)
    assert res.exit_code == 2
    assert "seatwise vendor set" in one_line_error(res)  # the CLI's hint tells the operator what to do
    with uow() as s:  # an invoice issued without VAT stays without a legal document once the profile is set
        tax.set_vendor(s, **VENDOR_PROFILE, actor_label=OPERATOR.label, now=T0)
    with uow() as s, pytest.raises(NotFound, match="issued without VAT"):
        documents.invoice_document(s, invoice_id=found.id)


def test_r26_dutch_domestic_invoice_pdf_has_the_legal_content(uow):
    _w, _sub, found = _invoiced(uow, locale="nl", by_invoice=True)
    with uow() as s:
        text = pdf_text(document_pdf(documents.invoice_document(s, invoice_id=found.id)))
    for expected in [
        "Factuur SW-2026-000001",
        "Seatwise B.V. Keizersgracht 1 1015 CJ Amsterdam NL Btw-nummer: NL000099998B57 KvK-nummer: 12345678 "
        "IBAN: NL91ABNA0417164300",
        "Contoso",
        "Factuurdatum 2 november 2026",
        "Vervaldatum 2 december 2026",
        "Omschrijving Periode Aantal Prijs per stuk Btw Bedrag",
        "1–30 nov 2026 10 € 12,50 21 % € 125,00",
        "Totaal excl. btw € 125,00",
        "Btw 21% over € 125,00 € 26,25",
        "Totaal incl. btw € 151,25",
        "Te betalen bedrag € 151,25",
        "Per bankoverschrijving naar NL91ABNA0417164300 onder vermelding van SW-2026-000001",
    ]:
        assert expected in text, expected


def test_r26_reverse_charge_pdf_names_both_vat_ids_and_says_btw_verlegd_in_dutch():
    doc = invoice(
        line(12500, 10, "AE", "0"),
        buyer=BELGIAN,
        language="nl",
        reasons=(("AE", "Btw verlegd"),),
        notes=("Btw verlegd",),
    )
    text = pdf_text(document_pdf(doc))
    assert "Btw-nummer: NL000099998B57" in text and "Btw-nummer: BE0403019261" in text
    assert "Fabrikam NV Grote Markt 1 1000 Brussel BE" in text
    assert "Btw verlegd (€ 125,00) € 0,00" in text
    assert "btw verlegd" in text.lower().split("te betalen bedrag € 125,00")[1]  # the wording as a note too
    assert "Inkoopordernummer PO-4711" in text
    english = pdf_text(document_pdf(dataclasses.replace(doc, language="en", reasons=(("AE", "VAT reverse charged"),))))
    assert "VAT reverse charged (€125.00) €0.00" in english
    assert "VAT ID: BE0403019261" in english and "Chamber of Commerce number: 12345678" in english


def test_r26_credit_note_pdf_says_so_and_names_the_invoice_it_corrects():
    doc = dataclasses.replace(
        invoice(),
        kind=Kind.CREDIT_NOTE,
        number="CN-2026-000001",
        corrects_number="SW-2026-000001",
        corrects_date=date(2026, 11, 1),
        language="nl",
    )
    text = pdf_text(document_pdf(doc))
    assert "Creditnota CN-2026-000001" in text
    assert "Corrigeert factuur SW-2026-000001, 1 november 2026" in text
    assert "Gecrediteerd bedrag € 151,25" in text


def test_r26_same_document_same_pdf_bytes():
    assert document_pdf(invoice()) == document_pdf(invoice())


def test_r26_api_serves_the_ubl_and_the_pdf_of_an_invoice_to_its_own_organisation_only(uow, db_url):
    w, _sub, found = _invoiced(uow)
    admin = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.billing_admin.user_id)
    got = admin.get(f"/v1/invoices/{found.id}/ubl")
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("application/xml")
    assert validate(got.content) == []
    pdf = admin.get(f"/v1/invoices/{found.id}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "Invoice SW-2026-000001" in pdf_text(pdf.content)
    with uow() as s:
        other = world(s, now=T0, users=0, name="Fabrikam", sku="PRO")
    stranger = client_with_key(uow, db_url, org_id=other.org_id, as_user=other.billing_admin.user_id)
    for path in ("ubl", "pdf"):
        denied = stranger.get(f"/v1/invoices/{found.id}/{path}")
        assert denied.status_code == 404, denied.text
        assert denied.json()["code"] == "unknown_invoice"
    assert admin.get("/v1/invoices/999999/ubl").status_code == 404


def test_r26_cli_exports_an_invoice_as_ubl_to_stdout_or_as_pdf_to_a_file(uow, db_url, tmp_path):
    _w, _sub, found = _invoiced(uow)
    cli = Cli(db_url)
    res = cli("invoice", "export", found.id, "--format", "ubl", json_output=False)
    assert res.exit_code == 0, res
    assert validate(res.stdout.encode()) == []
    target = tmp_path / "invoice.pdf"
    res = cli("invoice", "export", found.id, "--format", "pdf", "--output", target, json_output=False)
    assert res.exit_code == 0, res
    assert "Invoice SW-2026-000001" in pdf_text(target.read_bytes())
    bad = cli("invoice", "export", found.id, "--format", "docx")
    assert bad.exit_code == 2
    assert "expected one of ubl, pdf" in one_line_error(bad)
