"""R24 in the admin center: invoices show net, VAT per rate and the total with VAT; the cancel and licence
previews show the VAT of the credit or charge, in English and Dutch."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from seatwise.billing import service as billing
from seatwise.core.roles import OPERATOR
from seatwise.tax import service as tax
from tests.factories import run_billing

NOV_2 = datetime(2026, 11, 2, tzinfo=UTC)
DAY_3 = datetime(2026, 11, 3, 10, tzinfo=UTC)
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


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _invoiced(site, uow) -> None:
    with uow() as s:
        tax.set_vendor(s, **VENDOR, actor_label=OPERATOR.label, now=site.clock.at)
    run_billing(uow, as_of=NOV_2)
    site.clock.at = DAY_3


def _invoice_id(uow, org_id: int) -> int:
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=org_id)
        return invoice.id


def test_r24_the_invoice_page_shows_net_vat_per_rate_and_the_total_with_vat(site, uow):
    _invoiced(site, uow)
    client = site.signed_in("billing_admin@contoso.example")
    page = _text(client.get(f"/billing/invoices/{_invoice_id(uow, site.contoso.org_id)}").text)
    # 3 licences × €12.50 = €37.50; 21 % of it is 7.875 → €7.88; €45.38 in all, charged to the card
    assert "Total excl. VAT €37.50" in page
    assert "VAT 21 % on €37.50 €7.88" in page
    assert "Total incl. VAT €45.38" in page
    assert "Amount due €45.38" in page


def test_r24_the_dutch_invoice_page_says_btw(site, uow):
    _invoiced(site, uow)
    client = site.signed_in("billing_admin@fabrikam.example")
    dutch = {"accept-language": "nl-NL,nl;q=0.9"}
    page = _text(client.get(f"/billing/invoices/{_invoice_id(uow, site.fabrikam.org_id)}", headers=dutch).text)
    # 2 × € 12,50 = € 25,00; 21 % btw = € 5,25
    assert "Totaal excl. btw € 25,00" in page
    assert "Btw 21% over € 25,00 € 5,25" in page
    assert "Totaal incl. btw € 30,25" in page


def test_r24_the_cancel_page_shows_the_credit_with_the_vat_of_the_charge_it_corrects(site, uow):
    _invoiced(site, uow)
    client = site.signed_in("billing_admin@contoso.example")
    page = _text(client.get(f"/billing/subscriptions/{site.sub_id}/cancel").text)
    # 27/30 of €37.50 = €33.75 back, with 21 %: 7.0875 → €7.09, so €40.84
    assert "Credit excl. VAT €33.75" in page
    assert "VAT €7.09" in page
    assert "Credit incl. VAT €40.84" in page
    assert "a prorated credit of €40.84" in page


def test_r24_the_licence_preview_shows_the_amount_with_vat(site, uow):
    _invoiced(site, uow)
    client = site.signed_in("billing_admin@contoso.example")
    page = _text(client.get(f"/billing/subscriptions/{site.sub_id}/licenses", params={"total": 5}).text)
    # 2 more from day 3: 2 × 1250 × 28/30 = 2333.33 → €23.33; 21 % = 4.8993 → €4.90; €28.23 in all
    assert "You are charged €28.23" in page
    assert "€23.33 excl. VAT, VAT €4.90." in page
