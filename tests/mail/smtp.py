"""Real SMTP servers on 127.0.0.1 (aiosmtpd) for the mail tests: one that keeps what it receives, one that
refuses (5xx), one that greylists (4xx for the first tries), one that holds a message until it is let go."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.processes import free_port


class Receiver:
    """Keeps every message it accepts; answers `refuse` to the DATA of the first `refusals` messages, and
    holds the DATA of message number `hold_at` (counting from 1) until `release` is set."""

    def __init__(
        self, *, refuse: str = "", refusals: int = 0, hold_at: int = 0, unknown: frozenset[str] = frozenset()
    ) -> None:
        self.refuse, self.refusals, self.hold_at, self.unknown = refuse, refusals, hold_at, unknown
        self.received: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.tries = 0
        self.held_id: str | None = None
        self.held = threading.Event()  # message `hold_at` arrived and is being held
        self.release = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.unknown:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.tries += 1
        if self.tries <= self.refusals:
            return self.refuse
        if self.tries == self.hold_at:
            self.received.append(self._parse(envelope))  # the receiver has it: only the 250 goes missing
            self.held_id = self.received[-1]["Message-ID"].strip()
            self.held.set()
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "250 OK"
        self.received.append(self._parse(envelope))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    @staticmethod
    def _parse(envelope) -> EmailMessage:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


@contextmanager
def smtp_server(receiver: Receiver) -> Iterator[str]:
    """The receiver listening on a free port of 127.0.0.1; yields its SEATWISE_SMTP_URL."""
    port = free_port()
    controller = Controller(receiver, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}"
    finally:
        receiver.release.set()
        controller.stop()
