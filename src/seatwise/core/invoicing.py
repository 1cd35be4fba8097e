"""Invoices (R16, R17): credits applied first, the rest due or refunded; gapless numbers; dunning (R21)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from seatwise.core.periods import add_days, add_months, start_of_day
from seatwise.core.vat import TaxKey, by_rate

NET_DAYS = 30  # pay-by-invoice: due 30 days after issue
RETRY_DAYS = (3, 5, 7)  # failed card payments are retried this many days after issue
DISABLE_AFTER_DAYS = 30  # an invoice unpaid this long past its due date disables its subscriptions


class LineKind(enum.StrEnum):
    PERIOD = "period"  # a whole period billed in advance (R3)
    SEATS_ADDED = "seats_added"  # R12
    SEATS_REMOVED = "seats_removed"  # R12, a credit
    CANCELLATION = "cancellation"  # R15, a credit
    REACTIVATION = "reactivation"  # R6


class MethodKind(enum.StrEnum):
    CARD = "card"
    INVOICE = "invoice"


class InvoiceStatus(enum.StrEnum):
    COLLECTING = "collecting"  # its card is being charged (R32)
    OPEN = "open"  # something is still due
    PAID = "paid"


class PaymentKind(enum.StrEnum):
    PAYMENT = "payment"  # money received (a card charge, or a payment recorded by hand)
    REFUND = "refund"  # money sent back to the payment method
    CREDIT = "credit"  # a leftover credit set against an older unpaid invoice


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"  # not yet answered by the gateway (R32)
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class LedgerKind(enum.StrEnum):
    CHARGE = "charge"  # the lines charged, before VAT
    CREDIT = "credit"  # the lines credited, before VAT
    VAT = "vat"  # the invoice's VAT, on charges and credits together (R24)
    PAYMENT = "payment"
    REFUND = "refund"


class Dunning(enum.StrEnum):
    """What following up an unpaid invoice did (R21)."""

    RETRIED = "retried"  # the card was charged again and paid
    RETRY_FAILED = "retry_failed"
    DISABLED = "disabled"  # past the dunning period: its subscriptions are disabled


@dataclass(frozen=True, slots=True)
class Totals:
    """What an invoice adds up to: charges, credits applied to them, and what is due or refunded; with VAT."""

    total: int  # the charges, with their VAT
    credit_applied: int  # credits, with their VAT, set against the charges
    amount_due: int
    leftover: int  # credits no charge of this invoice absorbed (see `spread`)
    net: int = 0  # the lines summed, before VAT
    vat: int = 0  # per rate on the summed lines, rounded once (R24)


def settle(amounts: list[int], taxes: Sequence[TaxKey | None] = ()) -> Totals:
    """Apply an invoice's credits (negative lines) to its charges; what is left over is settled by `spread`.

    `taxes` gives each line's category and rate (None: no VAT, as before the vendor's profile was set). The
    invoice's VAT is rounded once per rate on its summed lines; the charges carry the VAT of their own sum
    and the credits the rest, so that charges minus credits is exactly net plus VAT."""
    taxed = [(key, amount) for key, amount in zip(taxes, amounts, strict=False) if key is not None]
    vat = sum(rate.vat for rate in by_rate(taxed))
    on_charges = sum(rate.vat for rate in by_rate((key, amount) for key, amount in taxed if amount > 0))
    charges = sum(a for a in amounts if a > 0) + on_charges
    credits = -(sum(a for a in amounts if a < 0) + vat - on_charges)
    applied = min(charges, credits)
    return Totals(charges, applied, charges - applied, credits - applied, sum(amounts), vat)


def spread(leftover: int, outstanding: list[int]) -> tuple[list[int], int]:
    """Settle a leftover credit (R16): first against what older invoices still ask for, oldest first,
    then refunded. Money owed is never paid out as a refund."""
    applied = []
    for owed in outstanding:
        part = min(leftover, owed)
        applied.append(part)
        leftover -= part
    return applied, leftover


def billing_date_for(*, wanted: datetime, at: datetime, last_invoice: datetime | None) -> datetime:
    """The midnight on which a line arising at `at` is invoiced: `wanted` if still ahead, else the next
    midnight; and never a date the organisation already has an invoice for (R17: one per date)."""
    if wanted < at:
        wanted = add_days(start_of_day(at), 1)
    return wanted if last_invoice is None or last_invoice < wanted else add_days(last_invoice, 1)


def charge_key(*, org_id: int, billing_date: datetime, attempt: int) -> str:
    """The idempotency key of a card charge (R32): the organisation's invoice of that billing date (one per
    date, R17) and the attempt. Never an invoice number, which a rolled-back transaction hands to another
    organisation."""
    return f"seatwise-{org_id}-{billing_date:%Y%m%d}-charge-{attempt}"


def refund_key(*, org_id: int, billing_date: datetime, part: int) -> str:
    """The idempotency key of a refund (R32), made with the invoice of that billing date; a refund drawn
    from several earlier charges has one part per charge."""
    return f"seatwise-{org_id}-{billing_date:%Y%m%d}-refund-{part}"


def credit_note_refund_key(*, org_id: int, number: str, part: int) -> str:
    """The idempotency key of a credit note's refund (R32): its number, fixed since the credit note's commit."""
    return f"seatwise-{org_id}-{number}-refund-{part}"


def refund_parts(amount: int, refundable: list[int]) -> list[int]:
    """How much of a refund each earlier charge returns, newest charge first (`refundable` in that order);
    what no charge can return stays with the last part, for the gateway to refuse or the operator to see."""
    parts = []
    for left in refundable:
        part = min(amount, left)
        parts.append(part)
        amount -= part
    if amount and parts:
        parts[-1] += amount
    elif amount:
        parts.append(amount)
    return parts


def invoice_number(year: int, sequence: int, prefix: str = "SW") -> str:
    """SW-2026-000001: per calendar year, without gaps (R17); the prefix is the vendor's (R22)."""
    return f"{prefix}-{year}-{sequence:06d}"


def credit_note_number(year: int, sequence: int, prefix: str = "SW") -> str:
    """SW-CN-2027-000001: credit notes have a gapless yearly series of their own (R25)."""
    return f"{prefix}-CN-{year}-{sequence:06d}"


def credit_returned_by(*, arose: datetime, period_end: datetime) -> datetime:
    """When a prorated credit is settled at the latest (R16): within the period it was cut from, and never
    more than a month after it arose, at the start of that day, so that it is a billing run's midnight."""
    return min(period_end, start_of_day(add_months(arose, 1)))


def due_date(*, issued: datetime, method: MethodKind | None) -> datetime:
    """Cards are charged on issue; pay-by-invoice is due net 30."""
    return add_days(issued, NET_DAYS) if method is MethodKind.INVOICE else issued


def next_retry(*, issued: datetime, after: datetime) -> datetime | None:
    """When a card payment that failed at `after` is tried again: the first of days 3, 5 and 7 after issue
    still to come, then no more. Read from the calendar, not from a count of attempts, so that a Pay now or a
    backup card between two retries leaves the schedule as it was. (A card declined for good is not tried
    again on those days; a new card is: see the billing run's `follow_up`.)"""
    return next((day for day in (add_days(issued, n) for n in RETRY_DAYS) if day > after), None)


def disable_date(*, due: datetime) -> datetime:
    """When an unpaid invoice disables its subscriptions for non-payment (R21)."""
    return add_days(due, DISABLE_AFTER_DAYS)
