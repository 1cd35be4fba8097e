"""Building a claimed message as an e-mail and handing it to the one configured SMTP server."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, getaddresses
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from sqlalchemy.orm import Session

from seatwise import config
from seatwise.core.errors import ErrorCode, SeatwiseError
from seatwise.mail.service import SMTP_TIMEOUT, Claim, Outcome


class Attachment(NamedTuple):
    """A file rendered for a message at send time."""

    filename: str
    media_type: str  # application/pdf, application/xml
    content: bytes


# Renders an attachment reference such as {"document": "invoice", "id": 7, "format": "pdf"}: the caller passes
# it in, so that mail needs to know nothing of invoices.
Render = Callable[[Session, dict[str, Any]], Attachment]


@dataclass(frozen=True)
class Smtp:
    """Where mail goes: one host, STARTTLS when it offers it (smtp://) or TLS from the start (smtps://)."""

    host: str
    port: int
    implicit_tls: bool
    user: str | None
    password: str | None


def _bad_url(why: str) -> SeatwiseError:
    return SeatwiseError(
        f"invalid SEATWISE_SMTP_URL: {why}: expected smtp://user:password@host:587 or smtps://host:465",
        code=ErrorCode.INVALID_CONFIGURATION,
    )


def smtp_settings(text: str | None = None) -> Smtp | None:
    """SEATWISE_SMTP_URL (or `text`) read, or None when mail is to be kept (the embedded default)."""
    text = config.smtp_url() if text is None else text
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("smtp", "smtps"):
        raise _bad_url(f"scheme {parts.scheme!r}")
    try:
        port = parts.port
    except ValueError:
        raise _bad_url("the port is not a number") from None
    if not parts.hostname:
        raise _bad_url("no host")
    return Smtp(
        host=parts.hostname,
        port=port or (465 if parts.scheme == "smtps" else 587),
        implicit_tls=parts.scheme == "smtps",
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def sender_address(text: str | None = None) -> tuple[str, Address]:
    """SEATWISE_MAIL_FROM (or `text`) as the From header and the envelope sender."""
    text = config.mail_from() if text is None else text
    parsed = getaddresses([text])
    try:
        if len(parsed) != 1 or "\n" in text or "\r" in text:
            raise ValueError(text)
        name, address = parsed[0]
        sender = Address(display_name=name, addr_spec=address)
    except (HeaderParseError, ValueError, IndexError):
        raise SeatwiseError(
            f"invalid SEATWISE_MAIL_FROM {text!r}: expected one address such as Seatwise <billing@example.com>",
            code=ErrorCode.INVALID_CONFIGURATION,
        ) from None
    if not sender.domain:
        raise SeatwiseError(
            f"invalid SEATWISE_MAIL_FROM {text!r}: expected one address such as Seatwise <billing@example.com>",
            code=ErrorCode.INVALID_CONFIGURATION,
        )
    return sender.addr_spec, sender


# Headers unfolded up to RFC 5322's hard limit of 998: Python folds a long subject at 78 in ways that readers
# unfold with a stray space (before the first word, or twice before an encoded one); subjects are far shorter.
POLICY = SMTP.clone(max_line_length=998)


def build(claim: Claim, *, sender: Address, attachments: list[Attachment]) -> EmailMessage:
    """The e-mail of a claimed message: plain text with an HTML alternative, and its attachments."""
    mail = EmailMessage(policy=POLICY)
    mail["From"] = sender
    mail["To"] = Address(display_name=claim.to_name or "", addr_spec=claim.to_address)
    mail["Subject"] = claim.subject
    mail["Date"] = format_datetime(claim.created_at)  # when it was written: the same on every attempt
    mail["Message-ID"] = claim.message_id
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a billing robot
    mail.set_content(claim.text)
    if claim.html:
        mail.add_alternative(claim.html, subtype="html")
    for file in attachments:
        maintype, _, subtype = file.media_type.partition("/")
        mail.add_attachment(file.content, maintype=maintype, subtype=subtype, filename=file.filename)
    return mail


def _answer(code: int, text: bytes | str) -> str:
    words = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return f"{code} {words}".strip()


def _connect(smtp: Smtp) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if smtp.implicit_tls:
        return smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=SMTP_TIMEOUT, context=context)
    client = smtplib.SMTP(smtp.host, smtp.port, timeout=SMTP_TIMEOUT)
    client.ehlo()
    if client.has_extn("starttls"):
        client.starttls(context=context)
        client.ehlo()
    return client


def send(mail: EmailMessage, *, envelope_from: str, to: str, smtp: Smtp) -> Outcome:
    """Hand `mail` to the SMTP server: a 5xx answer (the recipient or the message refused) is final, a 4xx
    answer, a timeout or a refused connection is worth another try later."""
    try:
        with _connect(smtp) as client:
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            client.send_message(mail, from_addr=envelope_from, to_addrs=[to])
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        return Outcome(sent=False, permanent=code >= 500, error=_answer(code, text))
    except smtplib.SMTPAuthenticationError as exc:  # the operator's settings, not the message: try again later
        return Outcome(sent=False, error=_answer(exc.smtp_code, exc.smtp_error))
    except smtplib.SMTPResponseException as exc:  # refused sender or data, or a 4xx on the way
        return Outcome(sent=False, permanent=exc.smtp_code >= 500, error=_answer(exc.smtp_code, exc.smtp_error))
    except (smtplib.SMTPException, OSError) as exc:  # no answer: down, cut, TLS failed
        return Outcome(sent=False, error=f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__)
    return Outcome(sent=True)
