"""R13 under real concurrency: separate processes race for the last seats, on SQLite and PostgreSQL.

Every contender is its own Python process (multiprocessing with the 'forkserver' start method:
each is forked from a fresh server process that never touched a database, so nothing is shared but
the database; the server imports Seatwise once instead of every contender importing it again). The
processes connect first, then meet at a barrier before every round and fire at the same
subscription together. If the count-then-insert in
`licenses.assign` were not serialised (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite),
these contests would over-assign seats or end in database errors instead of clean refusals.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections import Counter

import pytest
from sqlalchemy import select

from seatwise import db
from seatwise.subscriptions import service as subscriptions
from seatwise.subscriptions.models import Assignment
from tests.conftest import T0
from tests.factories import world
from tests.licenses import race_worker

SPAWN = multiprocessing.get_context("forkserver")
SPAWN.set_forkserver_preload(["tests.licenses.race_worker", "seatwise.models", "seatwise.licenses.service"])
OK = ("ok", None)
NO_FREE = ("refused", "no_free_licenses")
BELOW_ASSIGNED = ("refused", "below_assigned")


def _contest(url: str, plans: list[list[list[tuple]]], *, timeout: float = 90) -> list[list[list[tuple]]]:
    """Run plans[worker][round] (lists of operations) in one process per worker, round by round
    in lock step; return outcomes[round][worker], one outcome per operation."""
    workers, rounds = len(plans), len(plans[0])
    barrier = SPAWN.Barrier(workers)
    results = SPAWN.Queue()
    processes = [
        SPAWN.Process(target=race_worker.run, args=(url, w, plans[w], barrier, results, T0), daemon=True)
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    outcomes: list[list[list[tuple] | None]] = [[None] * workers for _ in range(rounds)]
    try:
        deadline = time.monotonic() + timeout
        for _ in range(workers * rounds):
            try:
                worker, index, got = results.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"the race did not finish within {timeout} s", pytrace=False)
            if index is None:
                pytest.fail(f"race worker {worker} crashed:\n{got}", pytrace=False)
            outcomes[index][worker] = got
    finally:
        for process in processes:
            process.join(timeout=10)
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
        results.close()
    return outcomes


def _held(url: str, sub_id: int) -> tuple[int, int, set[int]]:
    """(seats, assigned count, ids of the users holding a licence) as committed."""
    with db.read_only(url) as s:
        sub = subscriptions.get(s, sub_id=sub_id)
        holders = set(
            s.scalars(
                select(Assignment.user_id).where(
                    Assignment.subscription_id == sub_id, Assignment.suspended_at.is_(None)
                )
            )
        )
        return sub.seats, subscriptions.assigned_count(s, sub_id=sub_id), holders


def _buy(s, w, *, seats: int, assign: list[int]) -> int:
    from seatwise.licenses import service as licenses

    sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=seats, actor=w.billing_admin, now=T0)
    for user_id in assign:
        licenses.assign(s, sub_id=sub.id, user_id=user_id, actor=w.user_admin, now=T0)
    return sub.id


SEATS = 6
CONTENDERS = 4
FREE_PER_ROUND = [1, 1, 2, 1, 3, 1, 2, 1]  # eight contests of four processes for the last seat(s)


def test_r13_processes_racing_for_the_last_seats_never_over_assign(db_url, uow):
    with uow() as s:
        w = world(s, now=T0, users=SEATS + CONTENDERS)
        taken, contenders = w.user_ids[:SEATS], w.user_ids[SEATS:]
        sub_ids = [_buy(s, w, seats=SEATS, assign=taken[: SEATS - free]) for free in FREE_PER_ROUND]
    plans = [[[("assign", sub_id, contenders[c], w.user_admin)] for sub_id in sub_ids] for c in range(CONTENDERS)]

    outcomes = _contest(db_url, plans)

    for round_, (sub_id, free) in enumerate(zip(sub_ids, FREE_PER_ROUND, strict=True)):
        got = [per_worker[0] for per_worker in outcomes[round_]]
        context = f"round {round_} ({free} free of {SEATS}, {CONTENDERS} processes): {got}"
        assert set(got) <= {OK, NO_FREE}, f"a loser got something else than a clean refusal; {context}"
        assert got.count(OK) == free, context
        winners = {contenders[c] for c, outcome in enumerate(got) if outcome == OK}
        assert _held(db_url, sub_id) == (SEATS, SEATS, set(taken[: SEATS - free]) | winners), context


LOOP_ROUNDS = 3
LOOP_SEATS, LOOP_FREE, LOOP_TRIES = 8, 5, 6  # four processes × six users in a tight loop for five seats


def test_r13_processes_assigning_in_a_tight_loop_stop_exactly_at_the_seat_count(db_url, uow):
    with uow() as s:
        w = world(s, now=T0, users=LOOP_SEATS + CONTENDERS * LOOP_TRIES)
        taken = w.user_ids[: LOOP_SEATS - LOOP_FREE]
        mine = [w.user_ids[LOOP_SEATS + c * LOOP_TRIES : LOOP_SEATS + (c + 1) * LOOP_TRIES] for c in range(CONTENDERS)]
        sub_ids = [_buy(s, w, seats=LOOP_SEATS, assign=taken) for _ in range(LOOP_ROUNDS)]
    plans = [
        [[("assign", sub_id, user_id, w.user_admin) for user_id in mine[c]] for sub_id in sub_ids]
        for c in range(CONTENDERS)
    ]

    outcomes = _contest(db_url, plans)

    for round_, sub_id in enumerate(sub_ids):
        per_worker = outcomes[round_]
        flat = [outcome for got in per_worker for outcome in got]
        context = f"round {round_}: {per_worker}"
        assert Counter(flat) == {OK: LOOP_FREE, NO_FREE: CONTENDERS * LOOP_TRIES - LOOP_FREE}, context
        for got in per_worker:  # nobody unassigns, so once full, always full
            assert got == sorted(got, key=lambda outcome: outcome != OK), context
        winners = {mine[c][i] for c, got in enumerate(per_worker) for i, outcome in enumerate(got) if outcome == OK}
        assert _held(db_url, sub_id) == (LOOP_SEATS, LOOP_SEATS, set(taken) | winners), context


TOTAL_ROUNDS = 6
TOTAL_SEATS = 5  # four assigned; one process lowers the total to four while three others assign the fifth


def test_r13_lowering_the_seat_total_while_assigning_keeps_assigned_within_seats(db_url, uow):
    with uow() as s:
        w = world(s, now=T0, users=TOTAL_SEATS + 3)
        taken, contenders = w.user_ids[: TOTAL_SEATS - 1], w.user_ids[TOTAL_SEATS - 1 : TOTAL_SEATS + 2]
        sub_ids = [_buy(s, w, seats=TOTAL_SEATS, assign=taken) for _ in range(TOTAL_ROUNDS)]
    lower = [[[("set_total", sub_id, TOTAL_SEATS - 1, w.billing_admin)] for sub_id in sub_ids]]
    assign = [[[("assign", sub_id, user_id, w.user_admin)] for sub_id in sub_ids] for user_id in contenders]

    outcomes = _contest(db_url, lower + assign)

    winners_by_kind = Counter()
    for round_, sub_id in enumerate(sub_ids):
        lowered, *assigned = [per_worker[0] for per_worker in outcomes[round_]]
        seats, count, holders = _held(db_url, sub_id)
        context = f"round {round_}: set_total {lowered}, assign {assigned}; now {count} assigned of {seats} seats"
        assert count <= seats, context
        assert lowered in {OK, BELOW_ASSIGNED}, context
        assert set(assigned) <= {OK, NO_FREE}, context
        assert [lowered, *assigned].count(OK) == 1, context  # one of them got the last seat, the other was refused
        if lowered == OK:
            winners_by_kind["set_total"] += 1
            assert (seats, count, holders) == (TOTAL_SEATS - 1, TOTAL_SEATS - 1, set(taken)), context
        else:
            winners_by_kind["assign"] += 1
            winner = contenders[assigned.index(OK)]
            assert (seats, count, holders) == (TOTAL_SEATS, TOTAL_SEATS, set(taken) | {winner}), context
    print(f"winners over {TOTAL_ROUNDS} rounds: {dict(winners_by_kind)}")
