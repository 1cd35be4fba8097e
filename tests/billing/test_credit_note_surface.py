"""R25, R26: real credit notes over the API, the CLI and as legal documents, on both databases.

The vendor is Dutch and VAT-registered (21 %); 10 licences at €12.50 a month are bought on 1 November 2026,
invoiced on 2 November and cancelled on day 3 of the 30-day period: a credit note is issued at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from lxml import etree

from seatwise.billing import credit_notes, ubl
from seatwise.billing import service as billing
from seatwise.core.roles import OPERATOR
from seatwise.subscriptions import service as subscriptions
from seatwise.tax import service as tax
from tests.api import client_with_key
from tests.billing.en16931 import validate
from tests.billing.test_vat import VENDOR
from tests.cli.conftest import Cli, one_line_error
from tests.conftest import T0
from tests.factories import run_billing, world
from tests.web.test_pdf import pdf_text

NOV_2, DEC_1 = datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
CANCEL_AT = datetime(2026, 11, 3, 10, tzinfo=UTC)  # day 3 of 30
NS = {"cbc": ubl.CBC, "cac": ubl.CAC}


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# R15: the 27 days after day 3 of 30 come back; R24: with the 21 % of the charge it corrects, rounded once.
NET = _half_up(Decimal(1250 * 10) * 27 / 30)
VAT = _half_up(Decimal(NET) * Decimal("0.21"))
TOTAL = NET + VAT


def _euros(minor: int) -> str:
    return f"{Decimal(minor) / 100:.2f}"


def _cancelled(uow, *, locale: str = "en", name: str = "Contoso", sku: str = "BIZ"):
    """The organisation, its invoice and the credit note correcting it."""
    with uow() as s:
        if tax.get_vendor(s) is None:
            tax.set_vendor(s, **VENDOR, actor_label=OPERATOR.label, now=T0)
        w = world(s, now=T0, users=0, locale=locale, name=name, sku=sku)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=CANCEL_AT)
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=w.org_id)
        [note] = credit_notes.list_credit_notes(s, org_id=w.org_id)
    return w, invoice, note


def test_r25_the_amounts_the_tests_expect_are_the_worked_example():
    assert (NET, VAT, TOTAL) == (11250, 2363, 13613)  # 2362.5 rounds half up


def test_r25_api_lists_and_shows_a_credit_note_with_its_amounts_and_the_invoice_it_corrects(uow, db_url):
    w, invoice, note = _cancelled(uow)
    admin = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.billing_admin.user_id, at=CANCEL_AT)
    listed = admin.get(f"/v1/organizations/{w.org_id}/credit-notes")
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["data"]
    assert item["id"] == note.id
    assert (item["number"], item["invoice_id"], item["invoice_number"]) == (
        "SW-CN-2026-000001",
        invoice.id,
        invoice.number,
    )
    assert (item["net"], item["vat"], item["total"], item["spent"], item["refunded"]) == (
        _euros(NET),
        _euros(VAT),
        _euros(TOTAL),
        "0.00",
        "0.00",
    )
    assert item["settle_on"].startswith("2026-12-01")  # the period's end, sooner than a month (R16)
    [line] = item["lines"]
    assert (line["kind"], line["quantity"], line["amount"], line["vat_category"], line["vat_rate"]) == (
        "cancellation",
        10,
        _euros(NET),  # given back: positive, as the legal document has it
        "S",
        "21",
    )
    assert item["vat_breakdown"] == [{"category": "S", "rate": "21", "net": _euros(NET), "vat": _euros(VAT)}]
    shown = admin.get(f"/v1/credit-notes/{note.id}")
    assert shown.status_code == 200 and shown.json() == item

    run_billing(uow, as_of=DEC_1)  # nothing to spend it on: all of it goes back to the card
    settled = admin.get(f"/v1/credit-notes/{note.id}").json()
    assert (settled["spent"], settled["refunded"], settled["settle_on"]) == ("0.00", _euros(TOTAL), None)


def test_r25_api_pages_credit_notes_like_invoices(uow, db_url):
    w, _invoice, note = _cancelled(uow)
    admin = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.billing_admin.user_id, at=CANCEL_AT)
    first = admin.get(f"/v1/organizations/{w.org_id}/credit-notes", params={"limit": 1}).json()
    assert [n["id"] for n in first["data"]] == [note.id]
    after = admin.get(f"/v1/organizations/{w.org_id}/credit-notes", params={"limit": 1, "cursor": str(note.id)}).json()
    assert after["data"] == []


def test_r25_another_organisations_credit_note_answers_404_as_a_missing_one_does(uow, db_url):
    _w, _invoice, note = _cancelled(uow)
    with uow() as s:
        other = world(s, now=T0, users=0, name="Fabrikam", sku="PRO")
    stranger = client_with_key(uow, db_url, org_id=other.org_id, as_user=other.global_admin.user_id, at=CANCEL_AT)
    for path in ("", "/ubl", "/pdf"):
        theirs = stranger.get(f"/v1/credit-notes/{note.id}{path}")
        missing = stranger.get(f"/v1/credit-notes/999999{path}")
        assert theirs.status_code == missing.status_code == 404, (path, theirs.text)
        assert theirs.json()["code"] == missing.json()["code"] == "unknown_credit_note"
    assert stranger.get(f"/v1/organizations/{other.org_id}/credit-notes").json()["data"] == []
    assert stranger.get(f"/v1/organizations/{note.org_id}/credit-notes").status_code == 404


def test_r25_r26_api_serves_the_credit_note_as_valid_ubl_naming_the_corrected_invoice(uow, db_url):
    w, invoice, note = _cancelled(uow)
    admin = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.billing_admin.user_id, at=CANCEL_AT)
    got = admin.get(f"/v1/credit-notes/{note.id}/ubl")
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("application/xml")
    assert "SW-CN-2026-000001" in got.headers["content-disposition"]
    assert validate(got.content) == []  # the UBL 2.1 schema and the EN 16931 rules
    root = etree.fromstring(got.content)
    assert etree.QName(root).localname == "CreditNote"
    assert root.findtext("cbc:ID", namespaces=NS) == "SW-CN-2026-000001"
    assert root.findtext("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", namespaces=NS) == invoice.number
    assert root.findtext("cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate", namespaces=NS) == str(
        invoice.issued_at.date()
    )
    assert root.findtext("cac:TaxTotal/cbc:TaxAmount", namespaces=NS) == _euros(VAT)
    assert root.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS) == _euros(TOTAL)


def test_r25_r26_api_serves_the_credit_note_pdf_in_the_organisations_language(uow, db_url):
    w, invoice, note = _cancelled(uow)
    admin = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.billing_admin.user_id, at=CANCEL_AT)
    pdf = admin.get(f"/v1/credit-notes/{note.id}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "Credit note SW-CN-2026-000001" in text
    assert f"Corrects invoice {invoice.number}" in text
    dutch, dutch_invoice, dutch_note = _cancelled(uow, locale="nl", name="Fabrikam", sku="PRO")
    client = client_with_key(uow, db_url, org_id=dutch.org_id, as_user=dutch.billing_admin.user_id, at=CANCEL_AT)
    text = pdf_text(client.get(f"/v1/credit-notes/{dutch_note.id}/pdf").content)
    assert f"Creditnota {dutch_note.number}" in text
    assert f"Corrigeert factuur {dutch_invoice.number}" in text


def test_r25_cli_lists_shows_and_exports_a_credit_note(uow, db_url, tmp_path):
    w, invoice, note = _cancelled(uow)
    cli = Cli(db_url, now=CANCEL_AT)
    [listed] = cli.ok("credit-note", "list", w.org_id)
    assert (listed["number"], listed["invoice_number"], listed["total"], listed["refunded"]) == (
        "SW-CN-2026-000001",
        invoice.number,
        _euros(TOTAL),
        "0.00",
    )
    shown = cli.ok("credit-note", "show", note.id)
    assert shown == listed
    text = cli("credit-note", "show", note.id, json_output=False)
    assert text.exit_code == 0, text
    assert f"credit note SW-CN-2026-000001 of 2026-11-03, organisation {w.org_id}, corrects invoice" in text.stdout
    assert f"net {_euros(NET)}, VAT {_euros(VAT)}, total {_euros(TOTAL)}" in text.stdout
    table = cli("credit-note", "list", w.org_id, json_output=False)
    assert table.exit_code == 0 and "SW-CN-2026-000001" in table.stdout and invoice.number in table.stdout

    res = cli("credit-note", "export", note.id, "--format", "ubl", json_output=False)
    assert res.exit_code == 0, res
    assert validate(res.stdout.encode()) == []
    assert b"<CreditNote" in res.stdout.encode()
    target = tmp_path / "credit-note.pdf"
    written = cli.ok("credit-note", "export", note.id, "--format", "pdf", "--output", target)
    assert (written["credit_note_id"], written["file"]) == (note.id, str(target))
    text = pdf_text(target.read_bytes())
    assert "Credit note SW-CN-2026-000001" in text and f"Corrects invoice {invoice.number}" in text

    bad = cli("credit-note", "export", note.id, "--format", "docx")
    assert bad.exit_code == 2 and "expected one of ubl, pdf" in one_line_error(bad)
    missing = cli("credit-note", "show", 999999)
    assert missing.exit_code != 0
    assert (
        one_line_error(missing) == "error: unknown credit note 999999; list them with `seatwise credit-note list ORG`"
    )
