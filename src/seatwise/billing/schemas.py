"""JSON shapes of invoices, credit notes, their lines and ledger entries (CLI `--json` and the HTTP API)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from seatwise.billing import taxes
from seatwise.billing.models import Charge, CreditNote, Invoice, LedgerEntry
from seatwise.billing.service import Attempt, dunning_dates, vat_breakdown
from seatwise.core.money import Money
from seatwise.core.vat import RateTotal, by_rate
from seatwise.payments.models import Payment, PaymentMethod


def _amount(minor: int, currency: str) -> str:
    return Money(minor, currency).decimal_string()


class LineOut(BaseModel):
    description: str
    kind: str
    subscription_id: int
    period_start: datetime
    period_end: datetime
    quantity: int
    amount: str  # before VAT
    vat_category: str | None  # EN 16931: S standard, AE reverse charge, E exempt, O outside EU VAT; None: no VAT
    vat_rate: str | None  # percent, "21"

    @classmethod
    def of(cls, line: Charge, *, sign: int = 1) -> LineOut:
        """A line as the customer reads it; `sign=-1` shows a credit as the positive amount a credit note gives."""
        return cls(
            description=line.description,
            kind=line.kind,
            subscription_id=line.subscription_id,
            period_start=line.period_start,
            period_end=line.period_end,
            quantity=line.quantity,
            amount=_amount(sign * line.amount, line.currency),
            vat_category=line.vat_category,
            vat_rate=line.vat_rate,
        )


class VatRateOut(BaseModel):
    category: str
    rate: str  # percent
    net: str
    vat: str

    @classmethod
    def of(cls, rate: RateTotal, currency: str) -> VatRateOut:
        """One category and rate of a document's VAT breakdown."""
        return cls(
            category=rate.category,
            rate=str(rate.rate),
            net=_amount(rate.net, currency),
            vat=_amount(rate.vat, currency),
        )


class AttemptOut(BaseModel):
    id: int
    at: datetime
    kind: str  # payment | refund | credit
    amount: str
    status: str  # pending | succeeded | failed
    failure_code: str | None  # declined, insufficient_funds, expired_card, …
    card: str | None  # "visa •••• 4242"; None for a payment recorded by hand

    @classmethod
    def of(cls, payment: Payment, method: PaymentMethod | None) -> AttemptOut:
        """A charge, refund or recorded payment of an invoice, failed ones too (R21)."""
        return cls(
            id=payment.id,
            at=payment.at,
            kind=payment.kind,
            amount=_amount(payment.amount, payment.currency),
            status=payment.status,
            failure_code=payment.failure_code,
            card=f"{method.brand} •••• {method.last4}" if method is not None and method.last4 else None,
        )


class InvoiceOut(BaseModel):
    id: int
    number: str
    org_id: int
    billing_date: datetime
    issued_at: datetime
    due_at: datetime
    status: str
    currency: str
    lines: list[LineOut]
    net: str  # the lines summed, before VAT
    vat: str
    vat_breakdown: list[VatRateOut]  # per category and rate, rounded once each (R24)
    total: str  # the charges with their VAT
    credit_applied: str
    amount_due: str
    amount_paid: str  # by payments and by credit notes (R16)
    refunded: str
    paid_at: datetime | None
    payments: list[AttemptOut]  # every attempt, failed ones too, oldest first
    next_retry_at: datetime | None  # when an unpaid card invoice is charged again
    disabled_on: datetime | None  # when an unpaid invoice disables its subscriptions (R21)

    @classmethod
    def of(cls, invoice: Invoice, lines: list[Charge], attempts: list[Attempt]) -> InvoiceOut:
        """An invoice with its lines and payment attempts; amounts as decimal strings of its currency."""
        dunning = dunning_dates(invoice)
        c = invoice.currency
        return cls(
            id=invoice.id,
            number=invoice.number,
            org_id=invoice.org_id,
            billing_date=invoice.billing_date,
            issued_at=invoice.issued_at,
            due_at=invoice.due_at,
            status=invoice.status,
            currency=c,
            lines=[LineOut.of(line) for line in lines],
            net=_amount(invoice.net, c),
            vat=_amount(invoice.vat, c),
            vat_breakdown=[VatRateOut.of(r, c) for r in vat_breakdown(lines)],
            total=_amount(invoice.total, c),
            credit_applied=_amount(invoice.credit_applied, c),
            amount_due=_amount(invoice.amount_due, c),
            amount_paid=_amount(invoice.amount_paid, c),
            refunded=_amount(invoice.refunded, c),
            paid_at=invoice.paid_at,
            payments=[AttemptOut.of(payment, method) for payment, method in attempts],
            next_retry_at=dunning.next_retry,
            disabled_on=dunning.disabled_on,
        )


def credit_note_breakdown(lines: list[Charge]) -> list[RateTotal]:
    """A credit note's VAT per category and rate, on what it gives back as positive amounts (R24, R25)."""
    # Rounded on the positive sums, as the credit note's own `vat` is: half up of -x is not -(half up of x).
    return by_rate(
        (key, -line.amount) for line in lines if (key := taxes.stored(line.vat_category, line.vat_rate)) is not None
    )


class CreditNoteOut(BaseModel):
    id: int
    number: str  # SW-CN-2026-000001, a series of its own (R25)
    org_id: int
    invoice_id: int  # the invoice it corrects
    invoice_number: str
    issued_at: datetime
    currency: str
    lines: list[LineOut]  # what it gives back, as positive amounts before VAT
    net: str
    vat: str  # at the rates of the charges it corrects
    vat_breakdown: list[VatRateOut]
    total: str  # net + VAT
    spent: str  # set against the invoices issued since (R16)
    refunded: str  # returned to the payment method
    settle_on: datetime | None  # when the billing run settles what is left; None once it has

    @classmethod
    def of(cls, note: CreditNote, lines: list[Charge], corrects: Invoice) -> CreditNoteOut:
        """A credit note with its lines and the invoice it corrects; amounts as decimal strings of its currency."""
        c = note.currency
        return cls(
            id=note.id,
            number=note.number,
            org_id=note.org_id,
            invoice_id=note.invoice_id,
            invoice_number=corrects.number,
            issued_at=note.issued_at,
            currency=c,
            lines=[LineOut.of(line, sign=-1) for line in lines],
            net=_amount(note.net, c),
            vat=_amount(note.vat, c),
            vat_breakdown=[VatRateOut.of(r, c) for r in credit_note_breakdown(lines)],
            total=_amount(note.total, c),
            spent=_amount(note.spent, c),
            refunded=_amount(note.refunded, c),
            settle_on=note.settle_on,
        )


class LedgerEntryOut(BaseModel):
    id: int
    org_id: int
    at: datetime
    kind: str
    amount: str
    currency: str
    invoice_id: int
    payment_id: int | None

    @classmethod
    def of(cls, entry: LedgerEntry) -> LedgerEntryOut:
        """A ledger entry; positive amounts raise what the organisation owes."""
        return cls(
            id=entry.id,
            org_id=entry.org_id,
            at=entry.at,
            kind=entry.kind,
            amount=_amount(entry.amount, entry.currency),
            currency=entry.currency,
            invoice_id=entry.invoice_id,
            payment_id=entry.payment_id,
        )
