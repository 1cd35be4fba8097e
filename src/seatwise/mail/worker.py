"""The mail sender (`seatwise worker`, a thread of `seatwise serve`, and `seatwise worker --once`).

Due messages are claimed a few at a time in a short transaction, each sent by a thread of a small pool with no
transaction open, and its outcome recorded in a transaction of its own. With no SMTP server configured they
are kept instead: stored and shown, nothing sent.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from seatwise import db
from seatwise.clock import Clock
from seatwise.mail import sender, service
from seatwise.mail.sender import Attachment, Render, Smtp
from seatwise.mail.service import Claim, Outcome

log = logging.getLogger("seatwise.mail")

THREADS = 4  # SMTP conversations under way at once
Prepare = Callable[..., None]  # (session, *, now): queues what time brings, such as reminders


def no_attachments(_session: Session, reference: dict[str, Any]) -> Attachment:
    """The renderer of a worker that was given none: a message with an attachment waits for one that was."""
    raise LookupError(f"no renderer for the attachment {reference}")


def _attempt(url: str, claim: Claim, *, clock: Clock, smtp: Smtp, render: Render) -> str:
    """Render, build and send one claimed message, then record the outcome; returns what became of it."""
    envelope_from, from_header = sender.sender_address()
    try:
        with db.read_only(url) as session:
            files = [render(session, reference) for reference in claim.attachments]
        mail = sender.build(claim, sender=from_header, attachments=files)
    except Exception as exc:  # noqa: BLE001  an attachment that cannot be made now is retried, then given up
        outcome = Outcome(sent=False, error=f"could not make the message: {exc.__class__.__name__}: {exc}")
    else:
        outcome = sender.send(mail, envelope_from=envelope_from, to=claim.to_address, smtp=smtp)
    with db.unit_of_work(url) as session:
        status = service.record(session, claim=claim, outcome=outcome, now=clock.now())
    if status is None:
        log.warning("mail attempt %s ended after its lease; its outcome was not applied", claim.id)
        return "late"
    return "retried" if status == "queued" else status


def _pass(
    url: str, *, clock: Clock, pool: ThreadPoolExecutor, render: Render, prepare: Prepare | None, limit: int
) -> Counter[str]:
    """Queue what time brings (`prepare`), then send (or keep) what is due now, up to `limit` messages; counts
    what became of them."""
    done: Counter[str] = Counter()
    if prepare is not None:
        with db.unit_of_work(url) as session:
            prepare(session, now=clock.now())
    smtp = sender.smtp_settings()
    if smtp is None:
        with db.unit_of_work(url) as session:
            done["kept"] = service.keep(session, now=clock.now(), limit=limit)
        return done
    while done.total() < limit:
        with db.unit_of_work(url) as session:
            claims = service.claim(session, now=clock.now(), limit=min(THREADS, limit - done.total()))
        if not claims:
            break
        done.update(pool.map(lambda c: _attempt(url, c, clock=clock, smtp=smtp, render=render), claims))
    return done


def run_once(
    url: str, *, clock: Clock, render: Render = no_attachments, prepare: Prepare | None = None, limit: int = 1000
) -> dict[str, int]:
    """Send (or keep) every message due now and wait for the attempts; returns how many were sent, retried,
    failed and kept."""
    with ThreadPoolExecutor(THREADS, thread_name_prefix="seatwise-mail") as pool:
        done = _pass(url, clock=clock, pool=pool, render=render, prepare=prepare, limit=limit)
    return {k: done[k] for k in ("sent", "retried", "failed", "kept", "late")}


def run(
    url: str,
    *,
    clock: Clock,
    stop: threading.Event,
    render: Render = no_attachments,
    prepare: Prepare | None = None,
    idle: timedelta = timedelta(seconds=1),
) -> None:
    """Send until `stop` is set, looking for due messages every `idle`; survives its own failures."""
    with ThreadPoolExecutor(THREADS, thread_name_prefix="seatwise-mail") as pool:
        while not stop.is_set():
            done: Counter[str] = Counter()
            try:
                done = _pass(url, clock=clock, pool=pool, render=render, prepare=prepare, limit=100)
            except Exception:  # a database hiccup must not end sending for good
                log.exception("mail worker pass failed; trying again")
            if not done.total():
                stop.wait(idle.total_seconds())


def start_thread(
    url: str, *, clock: Clock, render: Render = no_attachments, prepare: Prepare | None = None
) -> threading.Event:
    """Run the sender in a daemon thread of this process; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(
        target=run,
        args=(url,),
        kwargs={"clock": clock, "stop": stop, "render": render, "prepare": prepare},
        name="seatwise-mail",
        daemon=True,
    ).start()
    return stop
