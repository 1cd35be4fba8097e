"""A billing run started from the operator console, with its progress."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from seatwise.db import Base, UTCDateTime


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class BillingRun(Base):
    """A billing run started from the operator console, with its progress for the page that watches it."""

    __tablename__ = "billing_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_by: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(10))  # running | done | failed
    due: Mapped[int] = mapped_column(Integer, default=0)  # subscriptions with work due when it started
    subscriptions: Mapped[int] = mapped_column(Integer, default=0)
    invoices: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)
