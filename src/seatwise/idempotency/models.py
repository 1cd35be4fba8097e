from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from seatwise.db import Base, UTCDateTime


class IdempotentRequest(Base):
    """A write sent with an Idempotency-Key and the answer it got, kept 24 hours.

    `status` is always set now: the answer is written with the change it answers. Only rows left by a
    release that claimed keys before answering have none; they are given up and replaced.
    """

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("caller", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    caller: Mapped[str] = mapped_column(String(64))  # the API key's hash: keys never share a space
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # method, path and body
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    headers: Mapped[str | None] = mapped_column(Text, nullable=True)  # a JSON object of those the route set
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
