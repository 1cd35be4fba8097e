from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from seatwise.db import Base, UTCDateTime


class Charge(Base):
    """A line to bill: a charge (positive) or a credit (negative), pending until an invoice takes it."""

    __tablename__ = "charges"
    # Pending lines by billing date and organisation: what the billing run invoices next.
    __table_args__ = (Index("ix_charges_pending", "invoice_id", "bill_on", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"))
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int] = mapped_column(Integer)
    # What its words are made of, so that each reader gets them in their own language (R26): the product of a
    # period line, and the days in the period a prorated line is cut from. None on lines from before: they have
    # only `description`, in the organisation's language when they arose.
    product_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    period_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units; negative for a credit
    currency: Mapped[str] = mapped_column(String(3))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())  # the days it covers, [start, end)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    bill_on: Mapped[datetime] = mapped_column(UTCDateTime())  # invoiced no later than this
    # Period charges carry "period:<subscription>:<anchor>:<index>", so a period is billed once (R20).
    key: Mapped[str | None] = mapped_column(String(80), unique=True, nullable=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), nullable=True)
    # Set when invoiced (R24): EN 16931's category (S, AE, E, O) and the rate in percent ("21", "25.5").
    # None: no VAT, as on every line invoiced before the vendor's legal profile was set.
    vat_category: Mapped[str | None] = mapped_column(String(2), nullable=True)
    vat_rate: Mapped[str | None] = mapped_column(String(6), nullable=True)
    # A credit correcting an invoiced charge is a line of the credit note issued with it (R25), not of an invoice.
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("credit_notes.id"), nullable=True, index=True)


class Invoice(Base):
    """One per organisation per billing date (R17); immutable once issued, apart from its payment state."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("org_id", "billing_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)  # up to 10 characters of prefix (R22)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    billing_date: Mapped[datetime] = mapped_column(UTCDateTime())
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    currency: Mapped[str] = mapped_column(String(3))
    net: Mapped[int] = mapped_column(BigInteger, default=0)  # the lines summed, before VAT
    vat: Mapped[int] = mapped_column(BigInteger, default=0)  # per rate on the summed lines, rounded once (R24)
    total: Mapped[int] = mapped_column(BigInteger)  # the charges with their VAT
    credit_applied: Mapped[int] = mapped_column(BigInteger)
    amount_due: Mapped[int] = mapped_column(BigInteger)
    amount_paid: Mapped[int] = mapped_column(BigInteger, default=0)  # payments, and credits of later invoices
    refunded: Mapped[int] = mapped_column(BigInteger)  # leftover credit paid back to the customer
    transferred: Mapped[int] = mapped_column(BigInteger, default=0)  # leftover credit set against older invoices
    status: Mapped[str] = mapped_column(String(10))  # open | paid
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    payment_method_id: Mapped[int | None] = mapped_column(ForeignKey("payment_methods.id"), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The next thing the billing run owes this invoice: a card retry, or disabling for non-payment.
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    # Both parties as they were when it was issued (R23); none on invoices issued before profiles had versions.
    vendor_version_id: Mapped[int | None] = mapped_column(ForeignKey("vendor_profile_versions.id"), nullable=True)
    billing_profile_id: Mapped[int | None] = mapped_column(ForeignKey("billing_profiles.id"), nullable=True)


class CreditNote(Base):
    """Money given back (R25): a credit note with its own gapless series, correcting an invoice, issued with the
    credit; immutable apart from how much of it has been spent. Until `settle_on` invoices issued meanwhile
    spend it; on that day what is left pays older unpaid invoices and the rest is refunded (R16)."""

    __tablename__ = "credit_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(28), unique=True)  # SW-CN-2027-000001
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))  # the invoice it corrects
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    currency: Mapped[str] = mapped_column(String(3))
    net: Mapped[int] = mapped_column(BigInteger)  # given back before VAT, positive
    vat: Mapped[int] = mapped_column(BigInteger)  # at the rate of the charge it corrects (R24)
    total: Mapped[int] = mapped_column(BigInteger)  # net + VAT
    spent: Mapped[int] = mapped_column(BigInteger, default=0)  # set against invoices, as credit payments
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    # When the billing run settles what is left (R16); None once nothing is.
    settle_on: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    # Both parties as they were when it was issued (R23).
    vendor_version_id: Mapped[int | None] = mapped_column(ForeignKey("vendor_profile_versions.id"), nullable=True)
    billing_profile_id: Mapped[int | None] = mapped_column(ForeignKey("billing_profiles.id"), nullable=True)


class CreditNoteCounter(Base):
    """The last credit note number used in a year: a series of its own, without gaps (R25)."""

    __tablename__ = "credit_note_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class InvoiceCounter(Base):
    """The last invoice number used in a year; locked while a number is taken, so numbers have no gaps."""

    __tablename__ = "invoice_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class LedgerEntry(Base):
    """Every money movement (R18): charges and credits as invoiced, payments, refunds. Append-only.

    Positive amounts raise what the organisation owes; negative ones lower it.
    """

    __tablename__ = "ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(10))  # charge | credit | payment | refund
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), nullable=True)
    # A credit note's entries (its credit, VAT and refund) name it; their invoice is the one it corrects.
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("credit_notes.id"), nullable=True)
