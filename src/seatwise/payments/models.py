from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from seatwise.db import Base, UTCDateTime


class PaymentMethod(Base):
    """A card (only its gateway token and last four digits are kept) or pay-by-invoice."""

    __tablename__ = "payment_methods"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # card | invoice
    brand: Mapped[str | None] = mapped_column(String(20), nullable=True)
    last4: Mapped[str | None] = mapped_column(String(4), nullable=True)
    exp_month: Mapped[int | None] = mapped_column(Integer, nullable=True)
    exp_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    customer: Mapped[str | None] = mapped_column(String(100), nullable=True)  # the organisation at the gateway
    token: Mapped[str | None] = mapped_column(String(100), nullable=True)  # the card at the gateway
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Payment(Base):
    """An attempt to collect an invoice, or a refund to the customer; failed attempts move no money."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    method_id: Mapped[int | None] = mapped_column(ForeignKey("payment_methods.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(10))  # payment | refund
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10), index=True)  # pending | succeeded | failed
    failure_code: Mapped[str | None] = mapped_column(String(30), nullable=True)
    # A card charge or refund at the gateway: the key naming it on every retry (R32), whether the gateway
    # may have seen it (then it is looked up before anything else), the gateway's id for it, and for a
    # refund the charge it returns money from.
    key: Mapped[str | None] = mapped_column(String(100), unique=True, nullable=True)
    sent: Mapped[bool] = mapped_column(Boolean, default=False)
    reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    refunds: Mapped[str | None] = mapped_column(String(100), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Money of a credit note (R25): spent on an invoice (kind credit), or refunded (its invoice then the one
    # the credit note corrects).
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("credit_notes.id"), nullable=True, index=True)
