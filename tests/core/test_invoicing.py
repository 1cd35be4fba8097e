"""Pure invoice rules: credits first, leftovers, numbers, due dates and dunning (R16, R17, R21)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from seatwise.core.invoicing import (
    MethodKind,
    billing_date_for,
    disable_date,
    due_date,
    invoice_number,
    next_retry,
    settle,
    spread,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_r16_credits_are_set_against_charges_first():
    totals = settle([12500, 5000, -11250])
    assert (totals.total, totals.credit_applied, totals.amount_due, totals.leftover) == (17500, 11250, 6250, 0)


def test_r16_a_credit_larger_than_the_charges_leaves_a_leftover():
    totals = settle([4435, -22984])  # the README's walk: 44.35 charged, 229.84 credited
    assert (totals.total, totals.credit_applied, totals.amount_due, totals.leftover) == (4435, 4435, 0, 18549)


def test_r16_a_leftover_pays_older_unpaid_invoices_before_any_refund():
    assert spread(11250, [12500]) == ([11250], 0)
    assert spread(20000, [5000, 12500]) == ([5000, 12500], 2500)
    assert spread(3000, []) == ([], 3000)


@given(st.lists(st.integers(-(10**9), 10**9), max_size=20))
def test_r16_settling_never_loses_a_cent(amounts):
    totals = settle(amounts)
    assert totals.total - totals.credit_applied - totals.leftover == sum(amounts)
    assert min(totals.amount_due, totals.leftover) == 0  # never both owed and refunded


@given(st.integers(0, 10**6), st.lists(st.integers(0, 10**6), max_size=5))
def test_r16_spreading_a_leftover_never_loses_a_cent(leftover, outstanding):
    parts, refund = spread(leftover, outstanding)
    assert sum(parts) + refund == leftover
    assert all(0 <= part <= owed for part, owed in zip(parts, outstanding, strict=True))
    assert refund == 0 or parts == outstanding  # a refund only once every older invoice is paid


def test_r17_numbers_are_per_year_and_zero_padded():
    assert invoice_number(2026, 1) == "SW-2026-000001"
    assert invoice_number(2027, 123456) == "SW-2027-123456"


def test_r22_numbers_carry_the_vendors_prefix():
    assert invoice_number(2027, 7, "ACME") == "ACME-2027-000007"


NL = ("S", Decimal("21"))
DE = ("S", Decimal("19"))
REVERSE = ("AE", Decimal("0"))


def test_r24_ten_licences_at_12_50_to_a_dutch_business_are_125_net_26_25_vat_151_25_in_all():
    totals = settle([12500], [NL])
    assert (totals.net, totals.vat, totals.total, totals.amount_due) == (12500, 2625, 15125, 15125)


def test_r24_vat_is_rounded_once_per_rate_on_the_summed_lines_not_per_line():
    # 3 cents at 21 % is 0.63 of a cent: per line 1 + 1 = 2, on the sum 6 × 0.21 = 1.26 → 1
    assert settle([3, 3], [NL, NL]).vat == 1
    assert settle([3, 3], [NL, DE]).vat == 2  # two rates: rounded once each


def test_r24_a_credit_carries_vat_and_charges_minus_credits_is_net_plus_vat():
    # 125.00 charged and 112.50 credited at 21 %: VAT on the sum 12.50 × 0.21 = 2.625 → 2.63; the charge
    # carries its own 26.25 and the credit the rest, 23.62, so that 151.25 − 136.12 = 15.13 = 12.50 + 2.63
    totals = settle([12500, -11250], [NL, NL])
    assert (totals.net, totals.vat, totals.total, totals.credit_applied, totals.amount_due) == (
        1250,
        263,
        15125,
        13612,
        1513,
    )


def test_r24_reverse_charged_and_untaxed_lines_add_no_vat():
    assert settle([12500, -2500], [REVERSE, REVERSE]).vat == 0
    assert settle([12500, -2500], [None, None]) == settle([12500, -2500])


@given(
    st.lists(
        st.tuples(st.integers(-(10**7), 10**7), st.sampled_from([NL, DE, REVERSE, ("S", Decimal("25.5")), None])),
        max_size=20,
    )
)
def test_r24_settling_with_vat_never_loses_a_cent(lines):
    totals = settle([amount for amount, _ in lines], [key for _, key in lines])
    assert totals.net == sum(amount for amount, _ in lines)
    assert totals.total - totals.credit_applied - totals.leftover == totals.net + totals.vat
    assert min(totals.amount_due, totals.leftover) == 0
    assert totals.total >= 0 and totals.credit_applied >= 0


def test_r17_a_line_is_billed_on_its_date_or_the_next_midnight_never_on_a_date_already_invoiced():
    period_start = utc(2026, 12, 1)
    assert billing_date_for(wanted=period_start, at=period_start, last_invoice=None) == period_start
    # bought at 09:30 on 1 November: invoiced at the next midnight
    assert billing_date_for(wanted=utc(2026, 11, 1), at=utc(2026, 11, 1, 9, 30), last_invoice=None) == utc(2026, 11, 2)
    # 1 December already has an invoice: the next day
    assert billing_date_for(wanted=period_start, at=utc(2026, 11, 20), last_invoice=period_start) == utc(2026, 12, 2)


def test_r21_cards_are_due_on_issue_transfers_net_30_and_disabled_30_days_past_due():
    issued = utc(2026, 11, 2)
    assert due_date(issued=issued, method=MethodKind.CARD) == issued
    assert due_date(issued=issued, method=MethodKind.INVOICE) == utc(2026, 12, 2)
    assert disable_date(due=utc(2026, 12, 2)) == utc(2027, 1, 1)


def test_r21_failed_card_payments_are_retried_on_days_3_5_and_7():
    issued = utc(2026, 11, 2)
    failed = [issued, utc(2026, 11, 5), utc(2026, 11, 7), utc(2026, 11, 9)]
    assert [next_retry(issued=issued, after=at) for at in failed] == [
        utc(2026, 11, 5),
        utc(2026, 11, 7),
        utc(2026, 11, 9),
        None,
    ]
    # a Pay now that failed on day 4 leaves day 5 as the next retry, not day 3 again nor day 7
    assert next_retry(issued=issued, after=utc(2026, 11, 6, 15)) == utc(2026, 11, 7)
