"""The billing run that runs by itself (R32): a pass of everything due, every few minutes, in `seatwise worker`
and in a thread of `seatwise serve`.

On PostgreSQL any number of workers make passes at the same time and share the work: `run_step` takes its
rows `FOR UPDATE SKIP LOCKED` and `collect` claims each payment. On SQLite, which has one writer anyway, a
pass is skipped while another process is making one.

Every pass that is not skipped rewrites the schedule's one row (`BillingSchedule`), which the operator
console shows; a pass that did something is kept as a `BillingRun` too, so quiet passes leave no rows.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from seatwise import db
from seatwise.billing_run import jobs
from seatwise.billing_run.models import BillingRun, BillingSchedule, RunStatus
from seatwise.billing_run.service import RunSummary
from seatwise.clock import Clock
from seatwise.core.errors import BadInput, ErrorCode
from seatwise.payments.gateway import Gateway

log = logging.getLogger("seatwise.schedule")

NAME = "billing"  # the schedule's row
EVERY = timedelta(minutes=5)
LONGEST = timedelta(days=1)  # a longer wait would leave trials and retries a day late: surely a typing slip
_LOCK = ("billing-schedule", 1)  # SQLite: the claim a pass holds (db.claimed_for_this_process)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}


@dataclass
class Pass:
    """What one scheduled pass did (or that it was skipped, or why it failed)."""

    started_at: datetime
    finished_at: datetime
    seconds: float = 0.0
    skipped: bool = False
    summary: RunSummary | None = None
    error: str | None = None
    run_id: int | None = None  # the BillingRun kept for it, when it did something

    @property
    def did_something(self) -> bool:
        """Whether the pass moved a subscription, issued an invoice or called the gateway."""
        s = self.summary
        return s is not None and bool(s.subscriptions or s.invoices or sum(s.payments.values()))

    def as_dict(self) -> dict[str, Any]:
        """The pass as JSON-ready data."""
        return {
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "seconds": round(self.seconds, 3),
            "skipped": self.skipped,
            "error": self.error,
            "run_id": self.run_id,
            **(self.summary.as_dict() if self.summary is not None else {}),
        }

    def describe(self) -> str:
        """The pass in one line for people."""
        if self.skipped:
            return "billing pass skipped: another process is making one"
        s = self.summary or RunSummary(as_of=self.started_at)
        paid = ", ".join(f"{n} {what}" for what, n in sorted(s.payments.items())) or "none"
        line = (
            f"billing pass up to {s.as_of.isoformat()}: {s.subscriptions} subscriptions, "
            f"{s.invoices} invoices, payments: {paid}"
        )
        return f"{line}; failed: {self.error}" if self.error else line


def worker_name() -> str:
    """This process as the schedule's row names it: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def parse_every(text: str, *, what: str = "interval") -> timedelta:
    """How often to make a pass: seconds (300) or a number with s, m or h (30s, 5m, 1h)."""
    found = re.fullmatch(r"\s*(\d{1,9})\s*([smh]?)\s*", text.lower())
    every = timedelta(seconds=int(found[1]) * _UNITS[found[2]]) if found else None
    if every is None or not timedelta(0) < every <= LONGEST:
        raise BadInput(
            f"invalid {what} {text!r}: expected seconds or a duration such as 30s, 5m or 1h, at most 24h",
            code=ErrorCode.INVALID_VALUE,
        )
    return every


@contextmanager
def _our_turn(url: str) -> Iterator[bool]:
    """True if this process may make a pass now: always on PostgreSQL, where passes share the work; on SQLite
    only while no other process is making one."""
    if db.engine_for(url).dialect.name == "postgresql":
        yield True
        return
    with db.claimed_for_this_process(url, *_LOCK) as mine:
        yield mine


def run_pass(url: str, *, clock: Clock, every: timedelta = EVERY, gateway: Gateway | None = None) -> Pass:
    """One pass: everything due up to now (`jobs.run_to_end`, one commit per step), then its record. A failed
    run is logged and recorded with what its committed steps did; only a failure to record it raises."""
    began = time.perf_counter()
    started = clock.now()
    with _our_turn(url) as mine:
        if not mine:
            return Pass(started_at=started, finished_at=started, skipped=True)
        progress = RunSummary(as_of=started)

        def keep(_session: Session, summary: RunSummary) -> None:
            nonlocal progress
            progress = summary  # the same object run_to_end goes on filling, payments included

        error = None
        try:
            summary = jobs.run_to_end(url, as_of=started, gateway=gateway, after_step=keep)
        except Exception as exc:  # recorded for the console; the next pass resumes where it stopped
            if isinstance(exc, DBAPIError):  # the database away or busy: its one line says enough
                log.error(
                    "billing pass up to %s failed: %s", started.isoformat(), (str(exc.orig).splitlines() or ["?"])[0]
                )
            else:
                log.exception("billing pass up to %s failed", started.isoformat())
            summary, error = progress, f"{type(exc).__name__}: {exc}"[:300]
        done = Pass(
            started_at=started,
            finished_at=clock.now(),
            seconds=time.perf_counter() - began,
            summary=summary,
            error=error,
        )
        with db.unit_of_work(url) as session:
            done.run_id = _record(session, done=done, every=every, worker=worker_name())
    return done


def _record(session: Session, *, done: Pass, every: timedelta, worker: str) -> int | None:
    """Rewrite the schedule's row with this pass, and keep the pass as a BillingRun if it did something."""
    summary = done.summary or RunSummary(as_of=done.started_at)
    run_id = None
    if done.did_something:
        run = BillingRun(
            as_of=summary.as_of,
            started_at=done.started_at,
            started_by=f"schedule:{worker}"[:50],
            status=RunStatus.FAILED if done.error else RunStatus.DONE,
            due=summary.subscriptions,
            subscriptions=summary.subscriptions,
            invoices=summary.invoices,
            finished_at=done.finished_at,
            error=done.error,
        )
        session.add(run)
        session.flush()
        run_id = run.id
    values = {
        "started_at": done.started_at,
        "finished_at": done.finished_at,
        "next_at": max(done.started_at + every, done.finished_at),
        "every_seconds": int(every.total_seconds()),
        "worker": worker,
        "subscriptions": summary.subscriptions,
        "invoices": summary.invoices,
        "payments": dict(sorted(summary.payments.items())),
        "run_id": run_id,
        "error": done.error,
    }
    # One row however many workers write it: an upsert, so two first passes at once do not collide.
    new = db.insert_or_merge(session, BillingSchedule).values(name=NAME, **values)
    session.execute(new.on_conflict_do_update(index_elements=["name"], set_={k: new.excluded[k] for k in values}))
    return run_id


def last_pass(session: Session) -> BillingSchedule | None:
    """The schedule's last recorded pass, if any has been made."""
    return session.scalars(select(BillingSchedule).where(BillingSchedule.name == NAME)).one_or_none()


def run(
    url: str, *, clock: Clock, stop: threading.Event, every: timedelta = EVERY, gateway: Gateway | None = None
) -> None:
    """A pass at once, then one every `every` (from the start of the last) until `stop` is set; a pass that
    fails is logged and recorded and the next one comes all the same."""
    while not stop.is_set():
        began = time.monotonic()
        try:
            run_pass(url, clock=clock, every=every, gateway=gateway)
        except Exception:  # even its record failed (the database away, say): try again later
            log.exception("billing pass could not be recorded; trying again in %s", every)
        stop.wait(max(0.0, every.total_seconds() - (time.monotonic() - began)))


@dataclass
class Scheduler:
    """The schedule running in a thread of this process."""

    stop: threading.Event
    thread: threading.Thread = field(repr=False)

    def close(self, timeout: float | None = None) -> None:
        """Stop after the pass under way, waiting up to `timeout` seconds for it."""
        self.stop.set()
        self.thread.join(timeout)


def start_thread(url: str, *, clock: Clock, every: timedelta = EVERY) -> Scheduler:
    """Run the schedule in a daemon thread of this process."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run,
        args=(url,),
        kwargs={"clock": clock, "stop": stop, "every": every},
        name="seatwise-billing",
        daemon=True,
    )
    thread.start()
    return Scheduler(stop, thread)
