from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from seatwise.db import Base, UTCDateTime


class MailMessage(Base):
    """One e-mail to one recipient: queued until a worker sends it (sent), keeps it because no SMTP server is
    configured (kept), or gives it up (failed) after a refusal or a day of failed attempts."""

    __tablename__ = "mail_messages"
    # The change that made a message (its key) never yields the same mail to the same address twice.
    __table_args__ = (
        UniqueConstraint("key", "to_address"),
        Index("ix_mail_messages_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(60))  # invoice.issued, payment.failed, …
    key: Mapped[str] = mapped_column(String(200))
    to_address: Mapped[str] = mapped_column(String(254))
    to_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    locale: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text, nullable=True)
    # References such as {"document": "invoice", "id": 7, "format": "pdf"}, rendered when the mail is sent.
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    message_id: Mapped[str] = mapped_column(String(300))  # the Message-ID header, the same on every attempt
    status: Mapped[str] = mapped_column(String(10))  # queued | sending | sent | kept | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set by a worker's claim, cleared by its record: an attempt is under way until then.
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)  # the server's answer, or why none came
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # or kept at
