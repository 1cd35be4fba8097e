"""R27: the mail outbox, sent to a real SMTP server on 127.0.0.1 and read back with the standard `email` package."""

from __future__ import annotations

import socket
from datetime import timedelta
from email.utils import parsedate_to_datetime
from itertools import pairwise

import pytest
from sqlalchemy import func, select

from seatwise.clock import FixedClock
from seatwise.core.errors import BadInput, ErrorCode
from seatwise.mail import service as mail
from seatwise.mail import worker
from seatwise.mail.models import MailMessage
from seatwise.mail.sender import Attachment
from seatwise.mail.service import Recipient
from tests.cli.conftest import Cli
from tests.conftest import T0
from tests.mail.smtp import Receiver, smtp_server
from tests.processes import free_port

PDF = b"%PDF-1.4 a stand-in invoice\n%%EOF\n"


def render(_session, reference) -> Attachment:
    """What the billing renderer would make of {"document": "invoice", "id": 7, "format": "pdf"}."""
    return Attachment(f"{reference['document']}-{reference['id']}.{reference['format']}", "application/pdf", PDF)


def _queue(uow, *, key: str = "invoice.issued:7", to=(("jan@contoso.example", "Jöran de Vries", "nl"),), **extra):
    fields = {
        "org_id": None,
        "kind": "invoice.issued",
        "key": key,
        "to": [Recipient(*r) for r in to],
        "subject": "Factuur INV-7 van € 120,00 voor Contoso",
        "text": "Uw factuur staat klaar.\n",
        "html": "<p>Uw factuur staat <b>klaar</b>.</p>",
        "attachments": [{"document": "invoice", "id": 7, "format": "pdf"}],
        "at": T0,
        **extra,
    }
    with uow() as s:
        return mail.queue(s, **fields)


def _messages(uow) -> list[MailMessage]:
    with uow() as s:
        return list(s.scalars(select(MailMessage).order_by(MailMessage.id)))


@pytest.fixture
def smtp_env(monkeypatch):
    """Sets SEATWISE_SMTP_URL for this test (and what else the test names)."""

    def use(url: str | None, **env: str) -> None:
        if url is None:
            monkeypatch.delenv("SEATWISE_SMTP_URL", raising=False)
        else:
            monkeypatch.setenv("SEATWISE_SMTP_URL", url)
        for name, value in env.items():
            monkeypatch.setenv(name, value)

    return use


def test_r27_a_queued_message_arrives_once_with_its_headers_both_bodies_and_an_attachment(uow, db_url, smtp_env):
    receiver, clock = Receiver(), FixedClock(T0)
    with smtp_server(receiver) as url:
        smtp_env(url, SEATWISE_MAIL_FROM="Contoso Billing <billing@seatwise.example>")
        smtp_env(url, SEATWISE_PUBLIC_URL="https://billing.seatwise.example/")
        assert _queue(uow) == 1
        assert worker.run_once(db_url, clock=clock, render=render)["sent"] == 1
        assert _queue(uow) == 0  # the same change never yields the same mail twice
        assert worker.run_once(db_url, clock=clock, render=render)["sent"] == 0
    [message] = _messages(uow)
    assert (message.status, message.attempts, message.sent_at, message.last_error) == ("sent", 1, T0, None)
    assert receiver.envelopes == [("billing@seatwise.example", ["jan@contoso.example"])]
    [got] = receiver.received
    assert got["From"] == "Contoso Billing <billing@seatwise.example>"
    assert got["To"].addresses[0].display_name == "Jöran de Vries"
    assert got["To"].addresses[0].addr_spec == "jan@contoso.example"
    assert got["Subject"] == "Factuur INV-7 van € 120,00 voor Contoso"
    assert parsedate_to_datetime(got["Date"]) == T0
    assert got["Message-ID"].strip() == message.message_id  # (a long header may be folded onto a line of its own)
    assert message.message_id.startswith("<seatwise.mail.") and message.message_id.endswith(
        "@billing.seatwise.example>"
    )
    assert got["Auto-Submitted"] == "auto-generated"
    # On the wire every line ends in CRLF.
    assert got.get_body(("plain",)).get_content() == "Uw factuur staat klaar.\r\n"
    assert got.get_body(("html",)).get_content() == "<p>Uw factuur staat <b>klaar</b>.</p>\r\n"
    [attachment] = got.iter_attachments()
    assert attachment.get_filename() == "invoice-7.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF


def test_r27_a_second_recipient_of_the_same_change_gets_a_message_of_their_own(uow, db_url, smtp_env):
    receiver = Receiver()
    with smtp_server(receiver) as url:
        smtp_env(url)
        to = (
            ("jan@contoso.example", None, "nl"),
            ("JAN@contoso.example", "Jan", "nl"),
            ("ann@contoso.example", "", "en"),
        )
        assert _queue(uow, to=to) == 2
        assert _queue(uow, to=(("ann@contoso.example", None, "en"), ("kim@contoso.example", None, "en"))) == 1
        assert worker.run_once(db_url, clock=FixedClock(T0), render=render)["sent"] == 3
    assert sorted(r for _, rcpts in receiver.envelopes for r in rcpts) == [
        "ann@contoso.example",
        "jan@contoso.example",
        "kim@contoso.example",
    ]
    assert len({m["Message-ID"] for m in receiver.received}) == 3


@pytest.mark.parametrize("where", ["data", "recipient"])
def test_r27_a_5xx_answer_fails_the_message_with_the_servers_answer_and_is_not_retried(uow, db_url, smtp_env, where):
    if where == "data":
        receiver = Receiver(refuse="550 5.7.1 Message rejected as spam", refusals=99)
    else:
        receiver = Receiver(unknown=frozenset({"jan@contoso.example"}))
    clock = FixedClock(T0)
    with smtp_server(receiver) as url:
        smtp_env(url)
        _queue(uow)
        assert worker.run_once(db_url, clock=clock, render=render)["failed"] == 1
        clock.at = T0 + timedelta(hours=3)
        assert sum(worker.run_once(db_url, clock=clock, render=render).values()) == 0
    [message] = _messages(uow)
    assert (message.status, message.attempts) == ("failed", 1)
    expected = "550 5.7.1 Message rejected as spam" if where == "data" else "550 5.1.1 No such user here"
    assert message.last_error == expected
    assert receiver.received == []
    assert receiver.tries == (1 if where == "data" else 0)


def test_r27_a_4xx_answer_is_retried_with_backoff_and_then_sent(uow, db_url, smtp_env):
    receiver, clock = Receiver(refuse="451 4.7.1 Greylisted, try again later", refusals=2), FixedClock(T0)
    with smtp_server(receiver) as url:
        smtp_env(url)
        _queue(uow)
        assert worker.run_once(db_url, clock=clock, render=render)["retried"] == 1
        [message] = _messages(uow)
        assert (message.status, message.next_attempt_at) == ("queued", T0 + timedelta(minutes=1))
        assert message.last_error == "451 4.7.1 Greylisted, try again later"
        clock.at = T0 + timedelta(seconds=59)
        assert sum(worker.run_once(db_url, clock=clock, render=render).values()) == 0  # not due yet
        clock.at = T0 + timedelta(minutes=1)
        assert worker.run_once(db_url, clock=clock, render=render)["retried"] == 1
        assert _messages(uow)[0].next_attempt_at == T0 + timedelta(minutes=6)
        clock.at = T0 + timedelta(minutes=6)
        assert worker.run_once(db_url, clock=clock, render=render)["sent"] == 1
    [message] = _messages(uow)
    assert (message.status, message.attempts, message.sent_at, message.last_error) == ("sent", 3, clock.at, None)
    assert receiver.tries == 3 and len(receiver.received) == 1


def test_r27_a_server_that_is_down_is_retried_and_the_message_failed_after_a_day(uow, db_url, smtp_env):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    smtp_env(f"smtp://127.0.0.1:{port}")
    clock = FixedClock(T0)
    _queue(uow)
    attempts_at = []
    while True:
        attempts_at.append(clock.at)
        worker.run_once(db_url, clock=clock, render=render)
        [message] = _messages(uow)
        if message.status != "queued":
            break
        clock.at = message.next_attempt_at
    assert message.status == "failed"
    assert "ConnectionRefusedError" in (message.last_error or "")
    assert attempts_at[:4] == [T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=6), T0 + timedelta(minutes=36)]
    assert attempts_at[-1] == T0 + mail.GIVE_UP_AFTER  # the last try is made when the day is up
    assert message.attempts == len(attempts_at)
    assert all(b - a <= timedelta(hours=5) for a, b in pairwise(attempts_at))


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("name", "Jan\r\nBcc: everyone@example.com", ErrorCode.INVALID_NAME),
        ("name", "Jan\nX-Injected: yes", ErrorCode.INVALID_NAME),
        ("subject", "Invoice\r\nBcc: everyone@example.com", ErrorCode.INVALID_SUBJECT),
        ("subject", "Invoice\rX: y", ErrorCode.INVALID_SUBJECT),
        ("address", "jan@contoso.example\r\nBcc: everyone@example.com", ErrorCode.INVALID_EMAIL),
        ("address", "jan,everyone@contoso.example", ErrorCode.INVALID_EMAIL),
        ("address", "not an address", ErrorCode.INVALID_EMAIL),
    ],
)
def test_r27_header_injection_in_a_name_or_subject_is_refused_and_nothing_written(uow, field, value, code):
    to = [("ann@contoso.example", "Ann", "en"), ("jan@contoso.example", "Jan", "nl")]
    extra = {}
    if field == "name":
        to[1] = ("jan@contoso.example", value, "nl")
    elif field == "address":
        to[1] = (value, "Jan", "nl")
    else:
        extra["subject"] = value
    with pytest.raises(BadInput) as raised:
        _queue(uow, to=to, **extra)
    assert raised.value.code == code
    assert "\n" not in raised.value.message and "expected" in raised.value.message
    with uow() as s:
        assert s.scalar(select(func.count()).select_from(MailMessage)) == 0


def test_r27_the_embedded_default_keeps_messages_and_mail_list_and_show_tell_them(uow, db_url, smtp_env):
    smtp_env(None)
    _queue(uow)
    _queue(uow, key="invoice.issued:8", to=(("ann@contoso.example", "Ann", "en"),), subject="Invoice INV-8")
    cli = Cli(db_url)
    once = cli.ok("worker", "--once")
    assert once["mail"] == {"sent": 0, "retried": 0, "failed": 0, "kept": 2, "late": 0}
    assert [(m.status, m.attempts, m.sent_at) for m in _messages(uow)] == [("kept", 0, T0), ("kept", 0, T0)]
    listed = cli.ok("mail", "list")
    assert [(m["to_address"], m["subject"], m["status"]) for m in listed] == [
        ("ann@contoso.example", "Invoice INV-8", "kept"),
        ("jan@contoso.example", "Factuur INV-7 van € 120,00 voor Contoso", "kept"),
    ]
    assert [m["id"] for m in cli.ok("mail", "list", "--status", "kept")] == [2, 1]
    assert cli.ok("mail", "list", "--status", "sent") == []
    shown = cli("mail", "show", 1, json_output=False)
    assert shown.exit_code == 0, shown
    assert "Subject: Factuur INV-7 van € 120,00 voor Contoso" in shown.stdout
    assert "status: kept" in shown.stdout and "Uw factuur staat klaar." in shown.stdout
    missing = cli("mail", "show", 99)
    assert missing.exit_code == 2 and "seatwise mail list" in missing.stderr


def test_r27_an_invalid_smtp_url_stops_the_worker_at_start(db_url, smtp_env):
    smtp_env(f"http://127.0.0.1:{free_port()}")
    res = Cli(db_url)("worker", "--once")
    assert res.exit_code != 0 and "SEATWISE_SMTP_URL" in res.stderr
