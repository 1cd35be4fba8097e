"""Subscriptions and the licences of them that users hold."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from seatwise.db import Base, UTCDateTime


class Subscription(Base):
    """An organisation's subscription to one product; its lifecycle columns mirror core.lifecycle."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint("seats >= 0", name="seats_not_negative"),
        Index("ix_subscriptions_due", "next_event_at", "id"),  # the billing run takes due rows in id order
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    status: Mapped[str] = mapped_column(String(10))
    status_reason: Mapped[str | None] = mapped_column(String(30), nullable=True)
    state_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    interval: Mapped[str] = mapped_column(String(10))
    anchor: Mapped[datetime] = mapped_column(UTCDateTime())
    period_index: Mapped[int] = mapped_column(Integer, default=0)
    current_period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    current_period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    trial_end: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    started_as_trial: Mapped[bool] = mapped_column(Boolean, default=False)
    recurring_billing: Mapped[bool] = mapped_column(Boolean, default=True)
    seats: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)  # minor units, fixed at purchase
    currency: Mapped[str] = mapped_column(String(3))
    # The next moment the billing run has something to do; NULL once deleted.
    next_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(50), nullable=True)
    cancel_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Assignment(Base):
    """A licence of a subscription held by one user of the same organisation (R13).

    When the user is removed the row stays with `suspended_at` set, so that restoring the
    user within 30 days gives the licence back; a suspended row holds no seat.
    """

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("subscription_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
