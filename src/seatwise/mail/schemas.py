"""JSON shape of mail messages, as `seatwise mail list|show` prints them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from seatwise.mail.models import MailMessage


class MessageOut(BaseModel):
    id: int
    org_id: int | None
    kind: str
    to_address: str
    to_name: str | None
    locale: str
    subject: str
    message_id: str
    status: str  # queued | sending | sent | kept | failed
    attempts: int
    next_attempt_at: datetime | None  # null once it is sent, kept or failed
    last_error: str | None  # the SMTP server's answer, or why none came
    created_at: datetime
    sent_at: datetime | None  # when it was sent, or kept
    attachments: list[dict[str, Any]]

    @classmethod
    def of(cls, message: MailMessage) -> MessageOut:
        """A message without its bodies."""
        return cls(
            id=message.id,
            org_id=message.org_id,
            kind=message.kind,
            to_address=message.to_address,
            to_name=message.to_name,
            locale=message.locale,
            subject=message.subject,
            message_id=message.message_id,
            status=message.status,
            attempts=message.attempts,
            next_attempt_at=message.next_attempt_at if message.status in ("queued", "sending") else None,
            last_error=message.last_error,
            created_at=message.created_at,
            sent_at=message.sent_at,
            attachments=list(message.attachments or []),
        )


class MessageWithBodiesOut(MessageOut):
    text: str
    html: str | None

    @classmethod
    def of(cls, message: MailMessage) -> MessageWithBodiesOut:
        """A message with its plain text and HTML."""
        return cls(**MessageOut.of(message).model_dump(), text=message.text, html=message.html)
