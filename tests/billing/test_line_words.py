"""R26: an invoice line keeps its kind and figures, and its words are made when it is shown, in the reader's
language: the admin center's reader's, and the organisation's invoice language on the legal documents."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from seatwise.billing import charges, credit_notes, documents
from seatwise.billing import service as billing
from seatwise.billing.pdf import document_pdf
from seatwise.core.roles import OPERATOR
from seatwise.licenses import service as licenses
from seatwise.subscriptions import service as subscriptions
from seatwise.tax import service as tax
from tests.billing.test_vat import VENDOR
from tests.factories import run_billing, world
from tests.web.test_pdf import pdf_text

T0, NOV_2 = datetime(2026, 11, 1, 9, 30, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)
DEC_1 = datetime(2026, 12, 1, tzinfo=UTC)
WORDS = {
    "en": [
        "5 licences added × 27/30 days, 4–30 Nov 2026",
        "12 licences of BIZ product, 1–31 Dec 2026",
    ],
    "nl": [
        "5 licenties erbij × 27/30 dagen, 4–30 nov 2026",
        "12 licenties van BIZ product, 1–31 dec 2026",
    ],
}
REMOVED = {
    "en": "Credit: 3 licences removed × 10/30 days, 21–30 Nov 2026",
    "nl": "Tegoed: 3 licenties eraf × 10/30 dagen, 21–30 nov 2026",
}


def _december(uow, *, locale: str):
    """An organisation of `locale`: 10 licences from 1 November, 5 more on day 4, 3 fewer on day 20."""
    with uow() as s:
        tax.set_vendor(s, **VENDOR, actor_label=OPERATOR.label, now=T0)
        w = world(s, now=T0, users=0, locale=locale)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        licenses.set_total(s, sub_id=sub.id, total=15, actor=w.billing_admin, now=datetime(2026, 11, 4, 10, tzinfo=UTC))
    with uow() as s:
        licenses.set_total(
            s, sub_id=sub.id, total=12, actor=w.billing_admin, now=datetime(2026, 11, 20, 10, tzinfo=UTC)
        )
    run_billing(uow, as_of=DEC_1)
    with uow() as s:
        return w, billing.list_invoices(s, org_id=w.org_id)[-1].id


@pytest.mark.parametrize("arose, shown", [("en", "nl"), ("nl", "en")])
def test_r26_a_line_is_worded_in_the_readers_language_whatever_language_it_arose_in(uow, arose, shown):
    _w, invoice_id = _december(uow, locale=arose)
    with uow() as s:
        lines = billing.lines_of(s, invoice_id=invoice_id)
        assert [line.description for line in lines] == WORDS[arose]  # as written when it arose
        assert [charges.describe(line, shown) for line in lines] == WORDS[shown]


def test_r26_the_legal_documents_use_the_organisations_invoice_language_not_the_language_it_was_billed_in(uow):
    w, invoice_id = _december(uow, locale="en")
    with uow() as s:
        tax.set_billing_profile(
            s,
            org_id=w.org_id,
            legal_name="Contoso B.V.",
            address_line="Dam 1",
            postcode="1012 JS",
            city="Amsterdam",
            country="NL",
            vat_id=None,
            po_number=None,
            exempt_reason=None,
            invoice_emails=(),
            invoice_language="nl",
            actor_label=OPERATOR.label,
            now=DEC_1,
        )
    with uow() as s:  # the December invoice was issued before: it keeps the profile it named (none), in English
        assert [line.description for line in documents.invoice_document(s, invoice_id=invoice_id).lines] == WORDS["en"]
        subscriptions.cancel(
            s, sub_id=billing.lines_of(s, invoice_id=invoice_id)[0].subscription_id, actor=w.billing_admin, now=DEC_1
        )
    with uow() as s:
        first, cancelled = credit_notes.list_credit_notes(s, org_id=w.org_id)
        assert [x.description for x in documents.credit_note_document(s, credit_note_id=first.id).lines] == [
            REMOVED["en"]
        ]
        doc = documents.credit_note_document(s, credit_note_id=cancelled.id)
    # issued after the profile said Dutch: a Dutch credit note, its line in Dutch too (cancelled on day 1 of 31)
    assert doc.language == "nl"
    text = pdf_text(document_pdf(doc))
    assert "Creditnota" in text and "Tegoed: opzegging, 12 licenties × 30/31 dagen, 2–31 dec 2026" in text, text
