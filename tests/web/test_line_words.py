"""R26 in the admin center: invoice lines in the reader's language, whatever the organisation's."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from seatwise.billing import service as billing
from seatwise.core.roles import OPERATOR
from seatwise.tax import service as tax
from tests.billing.test_vat import VENDOR
from tests.factories import run_billing

NOV_2 = datetime(2026, 11, 2, tzinfo=UTC)


def test_r26_a_dutch_reader_sees_an_english_organisations_invoice_lines_in_dutch(site, uow):
    with uow() as s:
        tax.set_vendor(s, **VENDOR, actor_label=OPERATOR.label, now=site.clock.at)
    run_billing(uow, as_of=NOV_2)
    site.clock.at = datetime(2026, 11, 3, 10, tzinfo=UTC)
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=site.contoso.org_id)
    client = site.signed_in("billing_admin@contoso.example")
    pages = {
        lang: re.sub(r"\s+", " ", html.unescape(client.get(f"/billing/invoices/{invoice.id}", headers=headers).text))
        for lang, headers in (("en", {}), ("nl", {"accept-language": "nl-NL,nl;q=0.9"}))
    }
    assert "3 licences of BIZ product, 1–30 Nov 2026" in pages["en"]
    assert "3 licenties van BIZ product, 1–30 nov 2026" in pages["nl"]
    assert "licences of" not in pages["nl"]
