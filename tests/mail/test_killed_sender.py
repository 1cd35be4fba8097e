"""R27 with real processes: a `seatwise worker` killed (SIGKILL) in the middle of sending; after a restart every
message has arrived, each once when the receiver drops a repeated Message-ID, and the mail list holds each once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seatwise.mail import service as mail
from seatwise.mail.service import Recipient
from tests.cli.conftest import Cli
from tests.conftest import T0
from tests.mail.smtp import Receiver, smtp_server

SEATWISE = Path(sys.executable).parent / "seatwise"


def _wait_for(check, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_r27_a_sender_killed_mid_send_is_taken_up_after_its_lease_and_every_message_arrives_once(
    uow, db_url, monkeypatch
):
    receiver = Receiver(hold_at=2)  # the second message reaches the server, whose 250 never comes back
    with smtp_server(receiver) as url:
        monkeypatch.setenv("SEATWISE_SMTP_URL", url)
        with uow() as s:
            for n in (1, 2, 3):
                mail.queue(
                    s,
                    org_id=None,
                    kind="invoice.issued",
                    key=f"invoice.issued:{n}",
                    to=[Recipient(f"admin{n}@contoso.example", f"Admin {n}", "en")],
                    subject=f"Invoice INV-{n}",
                    text=f"Invoice INV-{n} is ready.",
                    at=T0,
                )
        log = tempfile.TemporaryFile()
        process = subprocess.Popen(
            [str(SEATWISE), "worker", "--db", db_url, "--now", T0.isoformat()],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=os.environ.copy(),
            start_new_session=True,
        )
        try:
            assert _wait_for(lambda: receiver.held.is_set() and len(receiver.received) == 3, 30), (
                "the worker never sent",
                log.seek(0) or log.read()[-2000:],
            )
            cli = Cli(db_url)
            assert _wait_for(lambda: [m["status"] for m in cli.ok("mail", "list")].count("sent") == 2, 10)
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        receiver.release.set()  # the server answers 250 to a sender that is gone
        in_flight = [m for m in cli.ok("mail", "list") if m["status"] == "sending"]
        assert [m["message_id"] for m in in_flight] == [receiver.held_id]

        # Restarted before the lease ends: nothing is sent twice meanwhile.
        early = cli.ok("worker", "--once", now=T0 + mail.LEASE / 2)
        assert early["mail"]["sent"] == 0
        # Once the lease is over the message is taken up again, with the same Message-ID.
        late = cli.ok("worker", "--once", now=T0 + mail.LEASE)
        assert late["mail"]["sent"] == 1

    ids = [m["Message-ID"].strip() for m in receiver.received]
    assert len(ids) == 4  # one duplicate delivery: the message whose 250 was lost
    assert len(set(ids)) == 3  # and no duplicate message, deduplicated by Message-ID
    assert ids[-1] == receiver.held_id
    listed = cli.ok("mail", "list")
    assert sorted((m["subject"], m["status"]) for m in listed) == [
        ("Invoice INV-1", "sent"),
        ("Invoice INV-2", "sent"),
        ("Invoice INV-3", "sent"),
    ]
    assert {m["message_id"] for m in listed} == set(ids)
