"""The delivery worker (`seatwise worker`, and a thread of `seatwise serve`): one commit per job.

Attempts to different endpoints run side by side in a small pool of threads, each claimed in a short
transaction of its own, sent outside any transaction and recorded in another; no endpoint holds more
than one thread and no organisation more than two, and the last two free threads go only to organisations
with nothing under way, so slow or hanging ones cannot delay the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta

from seatwise import db
from seatwise.clock import Clock
from seatwise.idempotency import service as idempotency
from seatwise.webhooks import service
from seatwise.webhooks.egress import post
from seatwise.webhooks.service import Claim, Sender

log = logging.getLogger("seatwise.worker")

THREADS = 8  # attempts under way at once
PER_ENDPOINT = 1  # an endpoint gets its events in order, so one at a time (per organisation) anyway
PER_ORG = 2  # an organisation's endpoints together never hold more of the pool than this
# Threads that only an organisation with nothing under way may take: however many organisations hang, the
# next one with an event still finds a thread (three hanging ones hold 6 of the 8, not all 8).
RESERVED = 2


class Dispatcher:
    """Claims due attempts while a thread is free and the endpoint and organisation have room, and sends them."""

    def __init__(self, url: str, *, clock: Clock, send: Sender, pool: ThreadPoolExecutor, threads: int) -> None:
        self.url, self.clock, self.send, self.pool, self.threads = url, clock, send, pool, threads
        self.running: dict[Future[None], Claim] = {}

    def queue(self, limit: int = 1000) -> None:
        """Queue new events for their endpoints."""
        while True:
            with db.unit_of_work(self.url) as session:
                if service.queue(session, now=self.clock.now(), limit=limit) < limit:
                    return

    def start(self, budget: int) -> int:
        """Start as many due attempts as there is room for (at most `budget`); returns how many."""
        started = 0
        while len(self.running) < self.threads and started < budget:
            claims = list(self.running.values())
            endpoints = Counter(c.endpoint_id for c in claims)
            orgs = Counter(c.org_id for c in claims)
            reserve_only = self.threads - len(self.running) <= RESERVED
            with db.unit_of_work(self.url) as session:
                claim = service.claim(
                    session,
                    now=self.clock.now(),
                    busy_endpoints=frozenset(e for e, n in endpoints.items() if n >= PER_ENDPOINT),
                    busy_orgs=frozenset(o for o, n in orgs.items() if n >= PER_ORG or reserve_only),
                )
            if claim is None:
                break
            self.running[self.pool.submit(self._attempt, claim)] = claim
            started += 1
        return started

    def _attempt(self, claim: Claim) -> None:
        began = time.monotonic()
        answer = self.send(claim.url, claim.body, claim.headers)
        latency_ms = int((time.monotonic() - began) * 1000)
        with db.unit_of_work(self.url) as session:
            held = service.record(
                session,
                delivery_id=claim.delivery_id,
                lease_until=claim.lease_until,
                answer=answer,
                now=self.clock.now(),
                latency_ms=latency_ms,
            )
        if not held:
            log.warning("webhook attempt %s ended after its lease; its outcome was not applied", claim.delivery_id)

    def reap(self, timeout: float | None) -> int:
        """Wait up to `timeout` for an attempt to end; returns how many ended."""
        if not self.running:
            return 0
        done, _ = wait(list(self.running), timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            claim = self.running.pop(future)
            if future.exception() is not None:  # recorded again once its lease ends
                log.error("webhook attempt %s failed to record", claim.delivery_id, exc_info=future.exception())
        return len(done)


def run_once(url: str, *, clock: Clock, send: Sender = post, limit: int = 1000, threads: int = THREADS) -> int:
    """Queue new events, then make every delivery attempt due now, and wait for them; returns how many attempts."""
    with db.unit_of_work(url) as session:
        idempotency.forget_old(session, now=clock.now())
    with ThreadPoolExecutor(threads, thread_name_prefix="seatwise-webhook") as pool:
        dispatcher = Dispatcher(url, clock=clock, send=send, pool=pool, threads=threads)
        dispatcher.queue(limit)
        attempts = 0
        while True:
            attempts += dispatcher.start(limit - attempts - len(dispatcher.running))
            if not dispatcher.running:
                return attempts
            dispatcher.reap(None)


def run(
    url: str,
    *,
    clock: Clock,
    stop: threading.Event,
    idle: timedelta = timedelta(seconds=1),
    send: Sender = post,
    threads: int = THREADS,
) -> None:
    """Deliver until `stop` is set, looking for new events every `idle`; survives its own failures."""
    last_cleanup = 0.0
    with ThreadPoolExecutor(threads, thread_name_prefix="seatwise-webhook") as pool:
        dispatcher = Dispatcher(url, clock=clock, send=send, pool=pool, threads=threads)
        while not stop.is_set():
            started = 0
            try:
                if time.monotonic() - last_cleanup > 60:
                    with db.unit_of_work(url) as session:
                        idempotency.forget_old(session, now=clock.now())
                    last_cleanup = time.monotonic()
                dispatcher.queue()
                started = dispatcher.start(threads)
            except Exception:  # a database hiccup must not end deliveries for good
                log.exception("webhook worker pass failed; trying again")
            if started:
                dispatcher.reap(0)
            elif dispatcher.running:
                dispatcher.reap(idle.total_seconds())  # an ending attempt may free its endpoint's next event
            else:
                stop.wait(idle.total_seconds())
        while dispatcher.running:
            dispatcher.reap(None)


def start_thread(url: str, *, clock: Clock) -> threading.Event:
    """Run the worker in a daemon thread of this process; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(
        target=run, args=(url,), kwargs={"clock": clock, "stop": stop}, name="seatwise-worker", daemon=True
    ).start()
    return stop
