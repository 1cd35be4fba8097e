"""The delivery worker (`seatwise worker`, and a thread of `seatwise serve`): one commit per job."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from seatwise import db
from seatwise.clock import Clock
from seatwise.idempotency import service as idempotency
from seatwise.webhooks import service
from seatwise.webhooks.service import Sender, post

log = logging.getLogger("seatwise.worker")


def run_once(url: str, *, clock: Clock, send: Sender = post, limit: int = 1000) -> int:
    """Queue new events, then make every delivery attempt due now; returns how many attempts."""
    with db.unit_of_work(url) as session:
        idempotency.forget_old(session, now=clock.now())
    while True:
        with db.unit_of_work(url) as session:
            if service.queue(session, now=clock.now(), limit=limit) < limit:
                break
    attempts = 0
    while attempts < limit:
        with db.unit_of_work(url) as session:
            claim = service.claim(session, now=clock.now())
        if claim is None:
            break
        answer = send(claim.url, claim.body, claim.headers)
        with db.unit_of_work(url) as session:
            service.record(session, delivery_id=claim.delivery_id, answer=answer, now=clock.now())
        attempts += 1
    return attempts


def run(
    url: str, *, clock: Clock, stop: threading.Event, idle: timedelta = timedelta(seconds=1), send: Sender = post
) -> None:
    """Deliver until `stop` is set, resting `idle` whenever nothing is due; survives its own failures."""
    while not stop.is_set():
        try:
            busy = run_once(url, clock=clock, send=send)
        except Exception:  # a database hiccup must not end deliveries for good
            log.exception("webhook worker pass failed; trying again")
            busy = 0
        if not busy:
            stop.wait(idle.total_seconds())


def start_thread(url: str, *, clock: Clock) -> threading.Event:
    """Run the worker in a daemon thread of this process; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(
        target=run, args=(url,), kwargs={"clock": clock, "stop": stop}, name="seatwise-worker", daemon=True
    ).start()
    return stop
