"""What billing e-mail says (R27), as pure decisions: the kinds of message, the facts each one needs, when a
reminder is due, and the admin center's links. The words themselves are in `seatwise.notifications.messages`."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, fields
from datetime import datetime
from urllib.parse import urlsplit

from seatwise.core.errors import BadInput, ErrorCode
from seatwise.core.money import Money

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
TRIAL_REMINDER_DAYS = (7, 1)  # a trial's end is told a week and a day before (R27)
EXPIRY_REMINDER_DAYS = 7  # a subscription with recurring billing off, a week before its end
DELETION_NOTICE_DAYS = 7  # a subscription's deletion, a week before
_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")


class Kind(enum.StrEnum):
    TRIAL_ENDING = "trial_ending"
    TRIAL_CONVERTED = "trial_converted"
    TRIAL_EXPIRED = "trial_expired"
    INVOICE_ISSUED = "invoice_issued"
    CREDIT_NOTE_ISSUED = "credit_note_issued"
    PAYMENT_FAILED = "payment_failed"
    DISABLED = "disabled"
    CANCELLED = "cancelled"
    REFUND_MADE = "refund_made"
    EXPIRING = "expiring"
    DELETION_SOON = "deletion_soon"


@dataclass(frozen=True, slots=True)
class Facts:
    """What a message is about, as plain values; each kind needs some of them (`REQUIRED`)."""

    product: str
    organization: str
    subscription_id: int
    on: datetime | None = None  # the day it is about: the trial's end, the expiry, the deletion, the credit's return
    until: datetime | None = None  # a second day: the deletion of an expired or disabled one, a credit's latest return
    amount: Money | None = None  # incl. VAT: an invoice's total, a failed charge, a credit, a refund
    vat: Money | None = None  # the VAT in `amount`
    number: str | None = None  # the invoice's or credit note's number
    invoice_id: int | None = None
    credit_note_id: int | None = None
    days_left: int | None = None  # a trial's reminder: 7 or 1
    converts: bool = False  # a trial's end: it becomes paid (a payment method and recurring billing on), or expires
    reason: str | None = None  # a payment failure code, such as insufficient_funds
    next_retry: datetime | None = None  # a failed payment's next attempt; None when none is left


REQUIRED: dict[Kind, frozenset[str]] = {
    Kind.TRIAL_ENDING: frozenset({"on", "days_left"}),
    Kind.TRIAL_CONVERTED: frozenset({"on"}),
    Kind.TRIAL_EXPIRED: frozenset({"on", "until"}),
    Kind.INVOICE_ISSUED: frozenset({"amount", "number", "invoice_id", "on"}),
    Kind.CREDIT_NOTE_ISSUED: frozenset({"amount", "number", "credit_note_id"}),
    Kind.PAYMENT_FAILED: frozenset({"amount", "number", "invoice_id", "reason"}),
    Kind.DISABLED: frozenset({"on", "until"}),
    Kind.CANCELLED: frozenset({"on", "until", "amount", "vat"}),
    Kind.REFUND_MADE: frozenset({"amount", "on"}),
    Kind.EXPIRING: frozenset({"on", "days_left"}),
    Kind.DELETION_SOON: frozenset({"on", "days_left"}),
}


def check_facts(kind: Kind, facts: Facts) -> Facts:
    """`facts` when they hold what a message of `kind` needs; BadInput naming what is missing."""
    known = {f.name for f in fields(Facts)}
    missing = sorted(name for name in REQUIRED[kind] & known if getattr(facts, name) is None)
    if missing:
        raise BadInput(f"a {kind.value} message needs {', '.join(missing)}", code=ErrorCode.INVALID_VALUE)
    return facts


def reminder_due(*, ends_at: datetime, now: datetime, days: tuple[int, ...]) -> int | None:
    """Which reminder of `days` (days before `ends_at`, by calendar day) falls on `now`'s day, or None."""
    left = (ends_at.date() - now.date()).days
    return left if left in days else None


def one_line(text: str) -> str:
    """A subject on one line: line breaks of any kind become spaces, so that it cannot start a header."""
    # Only line breaks and runs of spaces go: a no-break space (as in Dutch amounts, € 1.234,56) stays.
    return re.sub(r"[ \t]+", " ", _LINE_BREAKS.sub(" ", text)).strip()


def check_public_url(url: str) -> str:
    """The admin center's address as people reach it, without a trailing slash; BadInput unless absolute http(s)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise BadInput(
            f"invalid public URL {url!r}: expected an absolute http(s) address such as https://billing.example.com",
            code=ErrorCode.INVALID_URL,
        )
    return url.strip().rstrip("/")


@dataclass(frozen=True, slots=True)
class Links:
    """Absolute links to the admin center's own pages that a message points at."""

    base: str

    def subscription(self, sub_id: int) -> str:
        return f"{self.base}/billing/subscriptions/{sub_id}"

    def invoice(self, invoice_id: int) -> str:
        return f"{self.base}/billing/invoices/{invoice_id}"

    def pay_now(self, invoice_id: int) -> str:
        return f"{self.base}/billing/invoices/{invoice_id}#pay-title"  # the invoice page holds the Pay now form

    def credit_note(self, credit_note_id: int) -> str:
        return f"{self.base}/billing/credit-notes/{credit_note_id}"

    def products(self) -> str:
        return f"{self.base}/billing/products"


def links_for(public_url: str) -> Links:
    """The links of messages under `public_url` (SEATWISE_PUBLIC_URL)."""
    return Links(check_public_url(public_url))
