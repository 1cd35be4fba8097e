"""R25 in the admin center: Bills & payments lists the credit notes beside the invoices, each has a page with
its lines, VAT per rate, totals, what was spent and refunded and its legal documents, and the invoice page
names the credit notes that correct it; in English and Dutch, for the organisation's own credit notes only."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from seatwise.billing import credit_notes
from seatwise.billing import service as billing
from seatwise.core.roles import OPERATOR
from seatwise.subscriptions import service as subscriptions
from seatwise.tax import service as tax
from tests.billing.en16931 import validate
from tests.factories import run_billing
from tests.web.test_pdf import pdf_text
from tests.web.test_vat_pages import VENDOR, _text

NOV_2, DAY_3 = datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, 10, tzinfo=UTC)
DEC_1 = datetime(2026, 12, 1, tzinfo=UTC)
DUTCH = {"accept-language": "nl-NL,nl;q=0.9"}


def _credit(seats: int) -> tuple[int, int]:
    """R15, R24: 27 of 30 days of `seats` × €12.50 back, with 21 % VAT rounded half up once."""
    net = int((Decimal(1250 * seats) * 27 / 30).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return net, int((Decimal(net) * Decimal("0.21")).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _cancelled(site, uow, org_id: int, sub_id: int):
    """The organisation's invoice of 2 November and the credit note of its cancellation on day 3."""
    with uow() as s:
        if tax.get_vendor(s) is None:
            tax.set_vendor(s, **VENDOR, actor_label=OPERATOR.label, now=site.clock.at)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        subscriptions.cancel(s, sub_id=sub_id, actor=OPERATOR, now=DAY_3)
    site.clock.at = DAY_3
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=org_id)
        [note] = credit_notes.list_credit_notes(s, org_id=org_id)
    return invoice, note


def test_r25_bills_and_payments_lists_the_credit_note_and_its_page_shows_lines_vat_and_totals(site, uow):
    invoice, note = _cancelled(site, uow, site.contoso.org_id, site.sub_id)
    net, vat = _credit(3)  # Contoso's 3 licences: 3375 and 708.75 → 709
    client = site.signed_in("billing_admin@contoso.example")
    listing = client.get("/billing/invoices")
    assert listing.status_code == 200
    assert f'href="/billing/credit-notes/{note.id}"' in listing.text
    page = _text(listing.text)
    assert f"{note.number} 3 November 2026 {invoice.number} €{(net + vat) / 100:.2f} €0.00 PDF" in page

    shown = client.get(f"/billing/credit-notes/{note.id}")
    assert shown.status_code == 200
    page = _text(shown.text)
    assert f"Credit note {note.number}" in page and f"Corrects invoice {invoice.number}" in page
    assert "Credit: cancellation, 3 licences × 27/30 days, 4–30 Nov 2026" in page
    assert f"VAT 21 % €{net / 100:.2f}" in page  # the line, given back as a positive amount
    assert f"Total excl. VAT €{net / 100:.2f}" in page
    assert f"VAT 21 % on €{net / 100:.2f} €{vat / 100:.2f}" in page
    assert f"Total incl. VAT €{(net + vat) / 100:.2f}" in page
    assert "Spent on invoices €0.00" in page and "Refunded €0.00" in page
    assert "What is left is settled on 1 December 2026" in page
    assert f'href="/billing/credit-notes/{note.id}/pdf"' in shown.text and "Download PDF" in page
    assert f'href="/billing/credit-notes/{note.id}/ubl"' in shown.text and "Download UBL" in page

    corrected = client.get(f"/billing/invoices/{invoice.id}")
    assert "Credit notes correcting this invoice" in _text(corrected.text)
    assert f'href="/billing/credit-notes/{note.id}"' in corrected.text

    pdf = client.get(f"/billing/credit-notes/{note.id}/pdf")
    assert pdf.status_code == 200 and pdf.headers["cache-control"] == "no-store"
    assert f"Corrects invoice {invoice.number}" in pdf_text(pdf.content)
    ubl = client.get(f"/billing/credit-notes/{note.id}/ubl")
    assert ubl.headers["content-type"].startswith("application/xml")
    assert ubl.headers["content-disposition"].startswith("attachment")
    assert b"<CreditNote" in ubl.content and validate(ubl.content) == []


def test_r25_refunded_shows_once_the_billing_run_has_settled_the_credit_note(site, uow):
    _invoice, note = _cancelled(site, uow, site.contoso.org_id, site.sub_id)
    net, vat = _credit(3)
    run_billing(uow, as_of=DEC_1)
    site.clock.at = DEC_1
    client = site.signed_in("billing_admin@contoso.example")
    page = _text(client.get(f"/billing/credit-notes/{note.id}").text)
    assert f"Refunded €{(net + vat) / 100:.2f}" in page
    assert "What is left is settled on" not in page


def test_r25_the_dutch_pages_say_creditnota(site, uow):
    invoice, note = _cancelled(site, uow, site.fabrikam.org_id, site.other_sub_id)
    net, vat = _credit(2)  # Fabrikam's 2 licences: 2250 and 472.5 → 473
    client = site.signed_in("billing_admin@fabrikam.example")

    def euros(minor: int) -> str:
        return f"€ {minor // 100},{minor % 100:02d}"

    page = _text(client.get("/billing/invoices", headers=DUTCH).text)
    assert "Creditnota's" in page and note.number in page
    page = _text(client.get(f"/billing/credit-notes/{note.id}", headers=DUTCH).text)
    assert f"Creditnota {note.number}" in page
    assert f"Corrigeert factuur {invoice.number}" in page
    assert f"Totaal excl. btw {euros(net)}" in page
    assert f"Btw 21% over {euros(net)} {euros(vat)}" in page
    assert f"Totaal incl. btw {euros(net + vat)}" in page
    assert f"Verrekend met facturen {euros(0)}" in page and f"Terugbetaald {euros(0)}" in page
    assert "PDF downloaden" in page and "UBL downloaden" in page
    page = _text(client.get(f"/billing/invoices/{invoice.id}", headers=DUTCH).text)
    assert "Creditnota's die deze factuur corrigeren" in page
    # Fabrikam's invoice language is Dutch: so is its credit note's PDF (R26)
    assert f"Creditnota {note.number}" in pdf_text(client.get(f"/billing/credit-notes/{note.id}/pdf").content)


def test_r25_another_organisations_credit_note_answers_404_on_every_page(site, uow):
    _invoice, note = _cancelled(site, uow, site.contoso.org_id, site.sub_id)
    client = site.signed_in("billing_admin@fabrikam.example")
    for path in ("", "/pdf", "/ubl"):
        theirs = client.get(f"/billing/credit-notes/{note.id}{path}")
        assert theirs.status_code == 404, path
    assert "There is no such credit note." in client.get(f"/billing/credit-notes/{note.id}").text
    assert client.get("/billing/credit-notes/99999999999999999999").status_code == 404
    assert note.number not in client.get("/billing/invoices").text
    assert re.search(r"/billing/credit-notes/\d+", client.get("/billing/invoices").text) is None


def test_r16_the_home_page_says_what_a_credit_note_still_holds_and_by_when_until_it_is_settled(site, uow):
    _cancelled(site, uow, site.contoso.org_id, site.sub_id)
    net, vat = _credit(3)
    client = site.signed_in("billing_admin@contoso.example")
    # the period ends on 1 December, sooner than a month after the cancellation
    coming = f"A credit of €{Decimal(net + vat) / 100:.2f} for BIZ product comes back by 1 December 2026."
    assert coming in _text(client.get("/").text)
    run_billing(uow, as_of=DEC_1)
    site.clock.at = DEC_1
    assert "comes back by" not in _text(client.get("/").text)
