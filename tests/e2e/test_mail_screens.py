"""R27: billing e-mail as a reader's mail program shows it: the HTML of two messages in each language, rendered
by Chromium, kept as screenshots for the README; and what the reader sees names the amounts and dates."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import expect

from seatwise.core.money import Money
from seatwise.core.notices import Facts, Kind, links_for
from seatwise.i18n import format_day, format_money
from seatwise.notifications.messages import render
from tests.e2e.conftest import shoot

LINKS = links_for("https://billing.example.com")
INVOICE = Facts(
    product="Seatwise Business",
    organization="Fabrikam BV",
    subscription_id=2,
    on=datetime(2026, 12, 1, tzinfo=UTC),
    amount=Money(15125, "EUR"),  # 10 × €12.50 + 21 % VAT
    number="SW-2026-000002",
    invoice_id=2,
)
FAILED = Facts(
    product="Seatwise Business",
    organization="Fabrikam BV",
    subscription_id=2,
    amount=Money(15125, "EUR"),
    number="SW-2026-000002",
    invoice_id=2,
    reason="insufficient_funds",
    next_retry=datetime(2026, 12, 4, tzinfo=UTC),
)


def test_r27_an_invoice_and_a_failed_payment_as_their_readers_see_them(page, lang):
    for name, kind, facts in (
        ("mail-invoice", Kind.INVOICE_ISSUED, INVOICE),
        ("mail-payment-failed", Kind.PAYMENT_FAILED, FAILED),
    ):
        message = render(kind, facts, locale=lang, links=LINKS)
        page.set_content(message.html)
        body = page.locator("body")
        expect(body).to_contain_text(format_money(Money(15125, "EUR"), lang))
        expect(body).to_contain_text("SW-2026-000002")
        if kind is Kind.PAYMENT_FAILED:
            expect(body).to_contain_text(format_day(datetime(2026, 12, 4, tzinfo=UTC), lang))
        shoot(page, name, lang)
