"""A contender in the R13 race tests: runs in its own process (multiprocessing, 'forkserver').

Each worker gets a plan of rounds; a round is a list of operations it performs one after
another, each in its own `unit_of_work`, as fast as it can. All workers wait at a shared
barrier before every round, so that their first operations hit the database together.
Outcomes go back to the test through a queue:

    ("ok", None)                        the unit of work committed
    ("refused", code)                   a clean domain refusal (Refused or a subclass)
    ("error", "ExcType: message")       anything else, e.g. a database error
"""

from __future__ import annotations

import traceback
from datetime import datetime

# An operation: ("assign", sub_id, user_id, actor) or ("set_total", sub_id, total, actor).
Op = tuple


def attempt(url: str, op: Op, now: datetime) -> tuple[str, str | None]:
    from seatwise import db
    from seatwise.core.errors import Refused
    from seatwise.licenses import service as licenses

    kind, sub_id, value, actor = op
    try:
        with db.unit_of_work(url) as session:
            if kind == "assign":
                licenses.assign(session, sub_id=sub_id, user_id=value, actor=actor, now=now)
            elif kind == "set_total":
                licenses.set_total(session, sub_id=sub_id, total=value, actor=actor, now=now)
            else:
                raise ValueError(f"unknown operation {kind!r}")
    except Refused as refused:
        return ("refused", refused.code)
    except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
        return ("error", f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
    return ("ok", None)


def run(url: str, worker: int, rounds: list[list[Op]], barrier, results, now: datetime) -> None:
    """Play every round of the plan; put (worker, round, [outcome per op]) on `results`."""
    try:
        from sqlalchemy import text

        import seatwise.models  # noqa: F401  (loads every table)
        from seatwise import db

        # Connect before the first barrier, so that the contest is not decided by who connects first.
        with db.read_only(url) as session:
            session.execute(text("SELECT 1"))
        for index, ops in enumerate(rounds):
            barrier.wait(timeout=60)
            results.put((worker, index, [attempt(url, op, now) for op in ops]))
        db.engine_for(url).dispose()
    except BaseException:  # noqa: BLE001 - a crash must reach the test rather than hang it
        results.put((worker, None, traceback.format_exc()))
