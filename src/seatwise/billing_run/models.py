"""A billing run started from the operator console, with its progress; the schedule's last pass."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from seatwise.db import Base, UTCDateTime


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class BillingRun(Base):
    """A billing run started from the operator console, with its progress for the page that watches it, or a
    scheduled pass that did something (`started_by` "schedule:<worker>")."""

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


class BillingSchedule(Base):
    """The billing run that runs by itself (R32): what its last pass did and when the next is due.

    One row per schedule, rewritten by every pass of any worker, so it never grows; a pass that did
    something is kept as a `BillingRun` too."""

    __tablename__ = "billing_schedule"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the worker that made the pass makes another by then
    every_seconds: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(100))  # host and process id of the worker that made the pass
    subscriptions: Mapped[int] = mapped_column(Integer, default=0)
    invoices: Mapped[int] = mapped_column(Integer, default=0)
    payments: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # what the gateway calls did, counted
    run_id: Mapped[int | None] = mapped_column(ForeignKey("billing_runs.id"), nullable=True)
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)
