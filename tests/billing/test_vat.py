"""VAT on invoices, credits, previews and the ledger (R22, R24), on both databases.

Prices exclude VAT. The vendor is a Dutch VAT-registered business (21 %) unless a test says otherwise; an
organisation without a billing profile counts as a consumer in the vendor's country. The `world` product costs
€12.50 a licence a month; T0 is Sunday 1 November 2026, 09:30 UTC, and November has 30 days.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from seatwise.billing import credit_notes, ledger, taxes
from seatwise.billing import service as billing
from seatwise.billing.models import CreditNote, LedgerEntry
from seatwise.core.invoicing import LineKind
from seatwise.core.money import Money
from seatwise.core.roles import OPERATOR
from seatwise.licenses import service as licenses
from seatwise.payments.models import Payment
from seatwise.subscriptions import service as subscriptions
from seatwise.tax import service as tax
from tests.conftest import T0
from tests.factories import run_billing, world

NOV_2, NOV_3, DEC_1 = (datetime(2026, m, d, tzinfo=UTC) for m, d in ((11, 2), (11, 3), (12, 1)))
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


def _vendor(s, *, at: datetime = T0, **changes) -> None:
    tax.set_vendor(s, **{**VENDOR, **changes}, actor_label=OPERATOR.label, now=at)


def _ledger(s, invoice_id: int, *, note: int | None = None) -> list[tuple[str, int]]:
    """An invoice's own ledger entries, or those of a credit note correcting it."""
    entries = s.scalars(
        select(LedgerEntry)
        .where(
            LedgerEntry.invoice_id == invoice_id,
            LedgerEntry.credit_note_id.is_(None) if note is None else LedgerEntry.credit_note_id == note,
        )
        .order_by(LedgerEntry.id)
    )
    return [(e.kind, e.amount) for e in entries]


def test_r24_ten_licences_at_12_50_in_the_vendors_country_are_125_net_26_25_vat_151_25_charged_to_the_card(uow):
    with uow() as s:
        _vendor(s)
        w = world(s, now=T0, users=0)
        subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=w.org_id)
        [line] = billing.lines_of(s, invoice_id=invoice.id)
        assert (line.amount, line.vat_category, line.vat_rate) == (12500, "S", "21")
        assert (invoice.net, invoice.vat, invoice.total, invoice.amount_due, invoice.status) == (
            12500,
            2625,
            15125,
            15125,
            "paid",
        )
        [rate] = billing.vat_breakdown(billing.lines_of(s, invoice_id=invoice.id))
        assert (rate.category, str(rate.rate), rate.net, rate.vat) == ("S", "21", 12500, 2625)
        [payment] = s.scalars(select(Payment).where(Payment.invoice_id == invoice.id)).all()
        assert (payment.amount, payment.status) == (15125, "succeeded")  # the card pays the gross amount
        assert _ledger(s, invoice.id) == [("charge", 12500), ("vat", 2625), ("payment", -15125)]
        assert ledger.check_ledger(s) == []


def test_r22_r24_a_vendor_without_a_vat_id_charges_none_and_marks_its_lines_exempt(uow):
    with uow() as s:
        _vendor(s, vat_id=None)
        w = world(s, now=T0, users=0)
        subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=w.org_id)
        [line] = billing.lines_of(s, invoice_id=invoice.id)
        assert (line.vat_category, line.vat_rate, invoice.vat, invoice.total) == ("E", "0", 0, 12500)
        assert ledger.check_ledger(s) == []


def test_r24_a_cancellation_credit_carries_the_vat_of_the_charge_it_corrects_in_preview_and_on_the_invoice(uow):
    with uow() as s:
        _vendor(s)
        w = world(s, now=T0, users=0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)  # 12500 + 21 % = 15125 paid
    cancel_at = datetime(2026, 11, 3, 10, tzinfo=UTC)
    with uow() as s:
        _vendor(s, at=NOV_3, vat_id=None)  # the vendor turns small business: new charges carry no VAT
        decision = subscriptions.cancellation_decision(
            s, sub=subscriptions.get(s, sub_id=sub.id), actor=w.billing_admin, now=cancel_at
        )
        # 27/30 of 12500 = 11250 back, with the 21 % of the charge it corrects: 2362.5 → 2363
        assert (decision.credit, decision.credit_vat, decision.credit_total) == (
            Money(11250, "EUR"),
            Money(2363, "EUR"),
            Money(13613, "EUR"),
        )
        subscriptions.cancel(s, sub_id=sub.id, actor=w.billing_admin, now=cancel_at)
    with uow() as s:
        [note] = s.scalars(select(CreditNote)).all()
        [credit] = credit_notes.lines_of(s, credit_note_id=note.id)
        assert (credit.amount, credit.vat_category, credit.vat_rate) == (-11250, "S", "21")
        assert (note.net, note.vat, note.total) == (11250, 2363, 13613)  # the preview's 13613, at once (R25)
    run_billing(uow, as_of=DEC_1)
    with uow() as s:
        [first] = billing.list_invoices(s, org_id=w.org_id)
        assert _ledger(s, first.id, note=note.id) == [("credit", -11250), ("vat", -2363), ("refund", 13613)]
        assert ledger.check_ledger(s) == []


def test_r24_lines_invoiced_before_the_vendor_profile_carry_no_vat_and_neither_do_the_credits_correcting_them(uow):
    with uow() as s:
        w = world(s, now=T0, users=0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        _vendor(s, at=NOV_3)
        licenses.set_total(s, sub_id=sub.id, total=4, actor=w.billing_admin, now=datetime(2026, 11, 3, 10, tzinfo=UTC))
        licenses.set_total(s, sub_id=sub.id, total=6, actor=w.billing_admin, now=datetime(2026, 11, 3, 11, tzinfo=UTC))
    run_billing(uow, as_of=DEC_1)
    with uow() as s:
        first, second = billing.list_invoices(s, org_id=w.org_id)
        assert (first.vat, [line.vat_category for line in billing.lines_of(s, invoice_id=first.id)]) == (0, [None])
        lines = billing.lines_of(s, invoice_id=second.id)
        # 6 removed × 27/30 of 1250 = 6750 back without VAT, as a credit note correcting the first invoice
        [note] = s.scalars(select(CreditNote)).all()
        assert (note.invoice_id, note.net, note.vat, note.total) == (first.id, 6750, 0, 6750)
        # 2 bought back on day 3 × 28/30 = 2333.33 → 2333 and December's 6 × 1250 = 7500, both at 21 % once on
        # their sum: 9833 × 0.21 = 2064.93 → 2065
        assert [(line.kind, line.amount, line.vat_category) for line in lines] == [
            ("seats_added", 2333, "S"),
            ("period", 7500, "S"),
        ]
        # 9833 + 2065 = 11898, of which the credit note pays 6750 and the card 5148
        assert (second.net, second.vat, second.total, second.amount_due, second.amount_paid) == (
            9833,
            2065,
            11898,
            11898,
            11898,
        )
        assert [(p.kind, p.amount) for p in s.scalars(select(Payment).where(Payment.invoice_id == second.id))] == [
            ("credit", 6750),
            ("payment", 5148),
        ]
        assert ledger.check_ledger(s) == []


def test_r24_the_licence_preview_shows_the_vat_its_invoice_will_carry(uow):
    with uow() as s:
        _vendor(s)
        w = world(s, now=T0, users=0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    day_3 = datetime(2026, 11, 3, 10, tzinfo=UTC)
    with uow() as s:
        more = licenses.preview_total(s, sub_id=sub.id, total=12, actor=w.billing_admin, now=day_3)
        # 2 × 1250 × 28/30 = 2333.33 → 2333 (days 3–30), 21 % = 489.93 → 490
        assert (more.proration.amount, more.vat, more.with_vat) == (
            Money(2333, "EUR"),
            Money(490, "EUR"),
            Money(2823, "EUR"),
        )
        fewer = licenses.preview_total(s, sub_id=sub.id, total=8, actor=w.billing_admin, now=day_3)
        assert (fewer.proration.amount, fewer.vat) == (Money(2250, "EUR"), Money(473, "EUR"))
        assert (
            taxes.vat_on(s, org_id=w.org_id, sub_id=sub.id, kind=LineKind.SEATS_REMOVED, amount=2250, on=day_3) == 473
        )


def test_r17_r22_invoice_numbers_take_the_vendors_prefix_in_one_gapless_series(uow):
    with uow() as s:
        _vendor(s)
        first = world(s, now=T0, users=0, name="Contoso", sku="BIZ")
        subscriptions.buy(s, org_id=first.org_id, sku=first.sku, seats=1, actor=first.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        _vendor(s, at=NOV_2, invoice_prefix="ACME")
        second = world(s, now=NOV_2, users=0, name="Fabrikam", sku="PRO")
        subscriptions.buy(s, org_id=second.org_id, sku=second.sku, seats=1, actor=second.billing_admin, now=NOV_2)
    run_billing(uow, as_of=NOV_3)
    with uow() as s:
        numbers = [i.number for w in (first, second) for i in billing.list_invoices(s, org_id=w.org_id)]
        assert numbers == ["SW-2026-000001", "ACME-2026-000002"]
