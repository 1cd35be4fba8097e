"""Invoices as PDF (R14, R16, R17, R21, R26): real invoices from the billing run, rendered and read back.

The PDF's text is read back with a small decoder of what fpdf2 writes (compressed content
streams, two-byte glyph codes, one ToUnicode map per font), so the tests check the words
and figures a customer sees, not just that some bytes came out.
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from datetime import UTC, datetime

from seatwise.billing import credit_notes, documents
from seatwise.billing import service as billing
from seatwise.billing.pdf import document_pdf
from seatwise.core.documents import LegalDocument
from seatwise.core.roles import OPERATOR
from seatwise.i18n import gettext
from seatwise.licenses import service as licenses
from seatwise.subscriptions import service as subscriptions
from seatwise.tax import service as tax
from tests.conftest import T0
from tests.factories import add_method, run_billing, world


def at(y: int, m: int, d: int, h: int = 0) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


NOV_2, DEC_1 = at(2026, 11, 2), at(2026, 12, 1)


# --- reading a PDF back -------------------------------------------------------------------------


def _objects(pdf: bytes) -> dict[int, bytes]:
    return {int(m[1]): m[2] for m in re.finditer(rb"(\d+) 0 obj(.*?)endobj", pdf, re.S)}


def _stream(obj: bytes) -> bytes:
    raw = re.search(rb"stream\r?\n(.*?)\r?\nendstream", obj, re.S)[1]
    return zlib.decompress(raw) if b"/FlateDecode" in obj else raw


def _unescape(literal: bytes) -> bytes:
    escapes = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
    return re.sub(
        rb"\\([0-7]{1,3}|.)",
        lambda m: bytes([int(m[1], 8)]) if m[1][:1].isdigit() else escapes.get(m[1], m[1]),
        literal,
        flags=re.S,
    )


def pdf_text(pdf: bytes) -> str:
    """Every piece of text shown on every page in drawing order, with runs of white space as one space
    (a wrapped table cell reads as one phrase, and no-break spaces as spaces, as text tools do)."""
    objects = _objects(pdf)
    fonts = {}  # resource name -> {glyph code: text}
    for name, number in re.findall(rb"/(F\d+) (\d+) 0 R", pdf):
        cmap = _stream(objects[int(re.search(rb"/ToUnicode (\d+) 0 R", objects[int(number)])[1])])
        fonts[name] = {
            int(code, 16): bytes.fromhex(text.decode()).decode("utf-16-be")
            for code, text in re.findall(rb"<([0-9A-F]{4})> <([0-9A-F]+)>", cmap)
        }
    shown, font = [], None
    for obj in objects.values():
        if b"stream" not in obj or b"/Subtype" in obj or b"/Length1" in obj or b"begincmap" in obj:
            continue
        content = _stream(obj)
        if b" Tj" not in content and b" TJ" not in content:
            continue
        # A justified line is an array of strings with spacing between them: `[(...) -40.7 (...)] TJ`.
        for m in re.finditer(
            rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj|\[((?:\((?:\\.|[^\\)])*\)|[^\]])*)\] TJ", content, re.S
        ):
            if m[1]:
                font = fonts[m[1]]
                continue
            strings = [m[2]] if m[2] is not None else re.findall(rb"\(((?:\\.|[^\\)])*)\)", m[3], re.S)
            for literal in strings:
                codes = _unescape(literal)
                shown.append("".join(font[int.from_bytes(codes[i : i + 2], "big")] for i in range(0, len(codes), 2)))
    return " ".join(" ".join(shown).split())


def page_count(pdf: bytes) -> int:
    return int(re.search(rb"/Count (\d+)", pdf)[1])


def title(pdf: bytes) -> str:
    raw = _unescape(re.search(rb"/Title \(((?:\\.|[^\\)])*)\)", pdf, re.S)[1])
    return raw[2:].decode("utf-16-be") if raw.startswith(b"\xfe\xff") else raw.decode("latin-1")


# --- invoices to render ---------------------------------------------------------------------------

VENDOR = dict(
    name="Seatwise B.V.",
    address_line="Keizersgracht 1",
    postcode="1015 CJ",
    city="Amsterdam",
    country="NL",
    vat_id="NL000099998B57",
    company_id="12345678",
    iban="NL91ABNA0417164300",
    oss=False,
    invoice_prefix="SW",
)


def _vendor(s) -> None:
    """The Dutch VAT-registered vendor (R22): 21 % on every line."""
    tax.set_vendor(s, **VENDOR, actor_label=OPERATOR.label, now=T0)


def _december_invoice(uow, *, locale: str = "en"):
    """10 seats at €12.50 from 1 Nov; +5 on day 4 (5625), −3 on day 20 (a credit note of 1250 + 21 %, R25);
    December renews 12 (15000)."""
    with uow() as s:
        _vendor(s)
        w = world(s, now=T0, users=0, locale=locale)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        licenses.set_total(s, sub_id=sub.id, total=15, actor=w.billing_admin, now=at(2026, 11, 4, 10))
    with uow() as s:
        licenses.set_total(s, sub_id=sub.id, total=12, actor=w.billing_admin, now=at(2026, 11, 20, 10))
    run_billing(uow, as_of=DEC_1)
    with uow() as s:
        first, december = billing.list_invoices(s, org_id=w.org_id)
        return _document(s, first.id), _document(s, december.id)


def _document(s, invoice_id: int) -> LegalDocument:
    return documents.invoice_document(s, invoice_id=invoice_id)


# --- tests --------------------------------------------------------------------------------------


def test_r17_r26_invoice_pdf_shows_number_parties_dates_every_line_and_the_totals(uow):
    _, december = _december_invoice(uow)
    pdf = document_pdf(december)
    assert pdf.startswith(b"%PDF-")
    assert page_count(pdf) == 1
    assert title(pdf) == "Invoice SW-2026-000002"
    text = pdf_text(pdf)
    for expected in [
        "Invoice SW-2026-000002",
        "From Seatwise B.V. Keizersgracht 1 1015 CJ Amsterdam NL VAT ID: NL000099998B57 "
        "Chamber of Commerce number: 12345678 IBAN: NL91ABNA0417164300",
        "Bill to Contoso NL",
        "Issue date 1 December 2026",
        "Due date 1 December 2026",
        "Payment Charged to your card",
        "Description Period Quantity Unit price VAT Amount",
        # each line: description, its days, seats, unit price excl. VAT, rate, amount
        "5 licences added × 27/30 days, 4–30 Nov 2026 4–30 Nov 2026 5 €11.25 21 % €56.25",
        "12 licences of BIZ product, 1–31 Dec 2026 1–31 Dec 2026 12 €12.50 21 % €150.00",
        # 5625 + 15000 = 20625 net; 21 % of it, rounded once, is 4331.25 → 4331
        "Total excl. VAT €206.25",
        "VAT 21 % of €206.25 €43.31",
        "Total incl. VAT €249.56",
        # the credit note of day 20 paid 1250 + 21 % (262.5 → 263) of it when it was issued
        "Prepaid -€15.13",
        "Amount due €234.43",
    ]:
        assert expected in text, expected


def test_r25_r26_a_cancellation_is_a_credit_note_naming_the_invoice_it_corrects_with_its_vat(uow):
    with uow() as s:
        _vendor(s)
        w = world(s, now=T0, users=0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=at(2026, 11, 3, 10))
        [note] = credit_notes.list_credit_notes(s, org_id=w.org_id)
        pdf = document_pdf(documents.credit_note_document(s, credit_note_id=note.id))
    text = pdf_text(pdf)
    assert title(pdf) == "Credit note SW-CN-2026-000001"
    # 27/30 of 12500 = 11250 given back with the 21 % of the charge it corrects: 2362.5 → 2363
    for expected in [
        "Credit note SW-CN-2026-000001",
        "SW-2026-000001",
        "Credit: cancellation, 10 licences × 27/30 days, 4–30 Nov 2026",
        "10 €11.25 21 % €112.50",
        "VAT 21 % of €112.50 €23.63",
        "Total incl. VAT €136.13",
    ]:
        assert expected in text, expected


def test_r21_pay_by_invoice_is_due_net_30_by_transfer_to_the_vendors_iban(uow):
    with uow() as s:
        _vendor(s)
        w = world(s, now=T0, users=0, card=False)
        add_method(s, org_id=w.org_id, card_number=None, expiry=None, invoice=True, actor=OPERATOR, now=T0)
        subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=2, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=w.org_id)
        text = pdf_text(document_pdf(_document(s, invoice.id)))
    assert "Due date 2 December 2026" in text  # issued 2 November, net 30
    assert "By bank transfer to NL91ABNA0417164300, quoting SW-2026-000001" in text
    assert "Amount due €30.25" in text  # 2 × 12.50 + 21 %
    assert "Paid on" not in text  # the document is the invoice as issued, not its payment state


def test_r14_invoice_pdf_in_dutch_uses_dutch_words_money_and_dates(uow):
    _first, december = _december_invoice(uow, locale="nl")
    en, nl = document_pdf(dataclasses.replace(december, language="en")), document_pdf(december)
    assert en != nl
    text = pdf_text(nl)
    assert title(nl) == gettext("nl", "Invoice {number}", number="SW-2026-000002")
    for expected in [
        gettext("nl", "Invoice {number}", number="SW-2026-000002"),
        gettext("nl", "Amount due"),
        "1 december 2026",
        "1–31 dec 2026",
        "12 licenties van BIZ product, 1–31 dec 2026",
        "12 € 12,50 21 % € 150,00",
        "€ 206,25",
        "€ -15,13",
        "€ 234,43",
    ]:
        assert expected in text, expected
    assert "1 December 2026" not in text


def test_euro_sign_and_long_organisation_names_print_with_the_embedded_font(uow):
    first, _ = _december_invoice(uow)
    name = "Ærøskøbing Öl & Brød (Łódź) <Sp. z o.o.> " * 3
    text = pdf_text(document_pdf(dataclasses.replace(first, buyer=dataclasses.replace(first.buyer, legal_name=name))))
    assert "€125.00" in text
    assert "Ærøskøbing" in text and "Łódź" in text and "<Sp. z o.o.>" in text


def test_many_lines_flow_onto_further_pages(uow):
    first, _ = _december_invoice(uow)
    pdf = document_pdf(dataclasses.replace(first, lines=first.lines * 80))
    assert page_count(pdf) > 1
    assert pdf_text(pdf).count("10 licences of BIZ product, 1–30 Nov 2026") == 80


def test_r26_same_invoice_renders_to_the_same_bytes_dated_by_its_issue(uow):
    first, _ = _december_invoice(uow)
    pdf = document_pdf(first)
    assert document_pdf(first) == pdf
    assert re.search(rb"/CreationDate \(D:20261102000000", pdf)


def test_a_period_across_months_prints_whole(uow, recwarn):
    with uow() as s:
        _vendor(s)
        w = world(s, now=T0, users=0, period="annual", price="396.00")
        subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=2, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=w.org_id)
        text = pdf_text(document_pdf(_document(s, invoice.id)))
    assert "1 Nov 2026 – 31 Oct 2027" in text  # Babel's thin spaces, which the font lacks, print as spaces
    assert not [w for w in recwarn if "missing" in str(w.message).lower()]
