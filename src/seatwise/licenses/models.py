from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from seatwise.db import Base, UTCDateTime


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
