"""R27 end to end: a month in the life of an English and a Dutch organisation, told by billing e-mail through a
real SMTP server (aiosmtpd on 127.0.0.1). Every message is read back with the standard `email` package; the
amounts and dates it must name are worked out here from the prices and the calendar."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import select

from seatwise import mailing
from seatwise.billing import service as billing
from seatwise.clock import FixedClock
from seatwise.core.money import Money
from seatwise.core.roles import OPERATOR
from seatwise.i18n import format_day, format_money
from seatwise.mail import worker
from seatwise.mail.models import MailMessage
from seatwise.organizations import notifications
from seatwise.subscriptions import service as subscriptions
from seatwise.tax import service as tax
from tests.billing.test_vat import VENDOR
from tests.conftest import T0
from tests.factories import add_method, run_billing, world
from tests.mail.smtp import Receiver, smtp_server


def day(m: int, d: int, y: int = 2026, h: int = 0) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), ROUND_HALF_UP))


@pytest.fixture
def smtp(monkeypatch):
    receiver = Receiver()
    with smtp_server(receiver) as url:
        monkeypatch.setenv("SEATWISE_SMTP_URL", url)
        yield receiver


def _mail(uow, at: datetime) -> None:
    """A sender's pass at `at`: the reminders of the day, then everything due."""
    done = worker.run_once(
        uow.url, clock=FixedClock(at), render=mailing.render_attachment, prepare=mailing.tell_reminders
    )
    assert done["failed"] == 0, done


def _sent(uow) -> list[tuple[str, str, str, str]]:
    with uow() as s:
        return [
            (m.kind, m.to_address, m.status, m.message_id)
            for m in s.scalars(select(MailMessage).order_by(MailMessage.id))
        ]


def test_r27_a_month_of_life_is_told_once_to_exactly_the_billing_recipients_in_their_language(uow, smtp):
    with uow() as s:
        tax.set_vendor(s, **VENDOR, actor_label=OPERATOR.label, now=T0)
        en = world(s, now=T0, users=2)
        nl = world(s, now=T0, users=2, name="Fabrikam", sku="FAB", locale="nl", card=False)
        # accepted when added, declined at every charge
        add_method(s, org_id=nl.org_id, card_number="4000000000000341", expiry="12/30", actor=OPERATOR, now=T0)
        notifications.set_addresses(
            s, org_id=nl.org_id, emails=["crediteuren@fabrikam.example"], actor_label=OPERATOR.label, now=T0
        )
        en_sub = subscriptions.start_trial(s, org_id=en.org_id, sku=en.sku, seats=10, actor=en.billing_admin, now=T0)
        subscriptions.start_trial(s, org_id=nl.org_id, sku=nl.sku, seats=10, actor=nl.billing_admin, now=T0)
    trial_end = day(12, 1)  # 30 days from 1 November
    _mail(uow, day(11, 24, h=9))  # 7 days before
    _mail(uow, day(11, 27, h=9))  # no reminder on a day that is not 7 or 1 before
    _mail(uow, day(11, 30, h=9))  # 1 day before
    run_billing(uow, as_of=trial_end)  # both convert and are invoiced; Fabrikam's card is declined
    _mail(uow, trial_end)
    cancelled = day(12, 3, h=10)
    with uow() as s:
        subscriptions.cancel(s, sub_id=en_sub.id, actor=en.billing_admin, now=cancelled)
    _mail(uow, cancelled)
    for retry in (day(12, 4), day(12, 6), day(12, 8)):  # days 3, 5 and 7 after issue
        run_billing(uow, as_of=retry)
        _mail(uow, retry)
    run_billing(uow, as_of=day(12, 31))  # 30 days past due: disabled for non-payment
    _mail(uow, day(12, 31))
    run_billing(uow, as_of=day(1, 1, 2027))  # the credit note's day: the period's end, sooner than a month
    _mail(uow, day(1, 1, 2027))

    en_people = ["global_admin@contoso.example", "billing_admin@contoso.example"]
    nl_people = ["global_admin@fabrikam.example", "billing_admin@fabrikam.example", "crediteuren@fabrikam.example"]
    expected = Counter()
    for kind, people in [
        ("trial_ending", en_people + nl_people),  # 7 days before
        ("trial_ending", en_people + nl_people),  # 1 day before
        ("trial_converted", en_people + nl_people),
        ("invoice_issued", en_people + nl_people),
        ("payment_failed", nl_people),  # on issue
        ("cancelled", en_people),
        ("credit_note_issued", en_people),
        ("payment_failed", nl_people),  # 4 December
        ("payment_failed", nl_people),  # 6 December
        ("payment_failed", nl_people),  # 8 December: no retry left
        ("disabled", nl_people),
        ("refund_made", en_people),
    ]:
        expected.update((kind, person) for person in people)
    rows = _sent(uow)
    assert Counter((kind, to) for kind, to, *_ in rows) == expected
    assert {status for _, _, status, _ in rows} == {"sent"}
    # exactly once at the receiver: one delivery per row, no Message-ID twice, nobody else
    ids = [m["Message-ID"] for m in smtp.received]
    assert len(ids) == len(set(ids)) == len(rows)
    assert {to for _, tos in smtp.envelopes for to in tos} == set(en_people + nl_people)
    assert not any("user_admin" in to or to.startswith("u") for _, tos in smtp.envelopes for to in tos)

    by_id = {m["Message-ID"]: m for m in smtp.received}

    def received(kind: str, to: str) -> list:
        """What `to` received of `kind`, in the order it was written."""
        return [by_id[mid] for k, address, _, mid in rows if (k, address) == (kind, to)]

    def body(message) -> str:
        return message.get_body(("plain",)).get_content()

    # the invoice: 10 × €12.50 = €125.00 + 21 % = €151.25, with its PDF and UBL
    gross = Money(12500 + _half_up(Decimal(12500) * Decimal("0.21")), "EUR")
    [en_invoice] = received("invoice_issued", "billing_admin@contoso.example")
    assert "SW-2026-000001" in en_invoice["Subject"] and format_money(gross, "en") in en_invoice["Subject"]
    assert sorted(part.get_filename() for part in en_invoice.iter_attachments()) == [
        "SW-2026-000001.pdf",
        "SW-2026-000001.xml",
    ]
    pdf = next(part for part in en_invoice.iter_attachments() if part.get_filename().endswith(".pdf"))
    assert pdf.get_content().startswith(b"%PDF-")
    # in Dutch for the Dutch organisation, its extra address too
    with uow() as s:
        [nl_invoice_row] = billing.list_invoices(s, org_id=nl.org_id)
    [nl_invoice] = received("invoice_issued", "crediteuren@fabrikam.example")
    assert nl_invoice["Subject"] == f"Factuur {nl_invoice_row.number} voor Fabrikam: {format_money(gross, 'nl')}"
    assert len(list(nl_invoice.iter_attachments())) == 2
    # subjects as a reader sees them: no stray space where a long one was folded
    assert all(m["Subject"] == m["Subject"].strip() and "  " not in m["Subject"] for m in smtp.received)
    # the failed payments name the next try: 4, 6 and 8 December, then none is left
    failed = [body(m) for m in received("payment_failed", "billing_admin@fabrikam.example")]
    assert len(failed) == 4 and all(format_money(gross, "nl") in text for text in failed)
    for text, retry in zip(failed, (day(12, 4), day(12, 6), day(12, 8)), strict=False):
        assert f"op {format_day(retry, 'nl')} opnieuw" in text, text
    assert "opnieuw" not in failed[3]
    # the cancellation on day 3 of 31: 28 days back, 12500 × 28/31 = 11290.32 → 11290 + 21 % (2370.9 → 2371),
    # back by 1 January (the period's end, sooner than a month), then refunded that day
    net = _half_up(Decimal(12500 * 28) / 31)
    credit = Money(net + _half_up(Decimal(net) * Decimal("0.21")), "EUR")
    [told] = received("cancelled", "global_admin@contoso.example")
    assert format_money(credit, "en") in body(told) and format_day(day(1, 1, 2027), "en") in body(told)
    [note] = received("credit_note_issued", "global_admin@contoso.example")
    assert [p.get_filename() for p in note.iter_attachments()] == ["SW-CN-2026-000001.pdf", "SW-CN-2026-000001.xml"]
    [refund] = received("refund_made", "billing_admin@contoso.example")
    assert format_money(credit, "en") in body(refund)
    # a pass that finds nothing new sends nothing: each change was told once
    _mail(uow, day(1, 1, 2027) + timedelta(hours=1))
    assert len(smtp.received) == len(rows)
