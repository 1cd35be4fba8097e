"""The built-in simulated card gateway, which stands for an outside system (R21, R32): it keeps what it did
in its own SQLite file, not in Seatwise's database, answers a repeated key with the first outcome, refuses
a key reused for another amount, and can be told to time out or to fail after charging."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from seatwise import config
from seatwise.core.cards import Card
from seatwise.core.errors import BadInput, ErrorCode
from seatwise.core.money import Money
from seatwise.payments.gateway import TEST_CARD_OUTCOMES, GatewayUnavailable, KeyReused, Outcome, SavedCard


def _reference(prefix: str, key: str) -> str:
    """The simulator's id of what a key made: the same in two stores that were asked the same."""
    return prefix + hashlib.sha256(key.encode()).hexdigest()[:16]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS charges (
    key TEXT PRIMARY KEY, reference TEXT UNIQUE NOT NULL, customer TEXT NOT NULL, token TEXT NOT NULL,
    amount INTEGER NOT NULL, currency TEXT NOT NULL, succeeded INTEGER NOT NULL, failure_code TEXT);
CREATE TABLE IF NOT EXISTS refunds (
    key TEXT PRIMARY KEY, reference TEXT UNIQUE NOT NULL, charge TEXT NOT NULL REFERENCES charges (reference),
    amount INTEGER NOT NULL, currency TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY, fault TEXT NOT NULL CHECK (fault IN ('timeout', 'fail_after_charge')));
"""


class SimulatedGateway:
    """Stripe's test cards: 4242… succeeds, 4000 0000 0000 0002 and …0341 are declined, …9995 lacks
    funds, …0069 has expired (a hard decline); any other number succeeds."""

    def __init__(self, store: Path) -> None:
        self.store = store

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction on the store, serialised across processes."""
        conn = sqlite3.connect(self.store, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")  # survives a killed process, as an outside system would
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(_SCHEMA)
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def arrange(self, *faults: str) -> None:
        """Make the next calls fail, one fault each: 'timeout' (nothing done, no answer) or
        'fail_after_charge' (charged or refunded, no answer; a look-up just gives no answer). For tests."""
        with self._write() as conn:
            conn.executemany("INSERT INTO faults (fault) VALUES (?)", [(fault,) for fault in faults])

    def _next_fault(self, conn: sqlite3.Connection) -> str | None:
        row = conn.execute("SELECT id, fault FROM faults ORDER BY id LIMIT 1").fetchone()
        if row is None:
            return None
        conn.execute("DELETE FROM faults WHERE id = ?", (row[0],))
        return row[1]

    def save_card(
        self, *, org_id: int, customer: str | None, card: Card | None, payment_method: str | None
    ) -> SavedCard:
        """A token that says how the test card will behave; the simulator takes typed numbers only."""
        if card is None:
            raise BadInput(
                "the simulated gateway takes card numbers, not payment-method ids: expected card and exp",
                code=ErrorCode.INVALID_PAYMENT_METHOD,
            )
        token = f"sim_{TEST_CARD_OUTCOMES.get(card.number, 'succeeds')}_{card.last4}"
        return SavedCard(customer or f"sim_cus_{org_id}", token, card.brand, card.last4, card.exp_month, card.exp_year)

    def charge(self, *, customer: str, token: str, amount: Money, key: str, metadata: Mapping[str, str]) -> Outcome:
        """Succeeds or fails as the test card's number says; a repeated key answers the first outcome."""
        fault = None
        with self._write() as conn:
            done = self._charged(conn, key)
            if done is not None:
                if (done[1], done[2]) != (amount.amount, amount.currency):
                    raise KeyReused(f"idempotency key {key} was used for {done[2]} {done[1]} before")
                return done[0]
            fault = self._next_fault(conn)
            if fault != "timeout":
                behaviour = token.removeprefix("sim_").rsplit("_", 1)[0]
                succeeded = behaviour == "succeeds"
                conn.execute(
                    "INSERT INTO charges VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        key,
                        _reference("sim_ch_", key),
                        customer,
                        token,
                        amount.amount,
                        amount.currency,
                        succeeded,
                        None if succeeded else behaviour,
                    ),
                )
                made = self._charged(conn, key)
        if fault is not None:
            raise GatewayUnavailable(f"the simulated gateway did not answer ({fault})")
        assert made is not None  # just written
        return made[0]

    def _charged(self, conn: sqlite3.Connection, key: str) -> tuple[Outcome, int, str] | None:
        row = conn.execute(
            "SELECT succeeded, reference, failure_code, amount, currency FROM charges WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else (Outcome(bool(row[0]), row[1], row[2]), row[3], row[4])

    def find_charge(self, *, customer: str, key: str) -> Outcome | None:
        """The charge with this key, if it was ever made."""
        with self._write() as conn:
            fault, done = self._next_fault(conn), self._charged(conn, key)
        if fault is not None:
            raise GatewayUnavailable(f"the simulated gateway did not answer ({fault})")
        return None if done is None else done[0]

    def refund(self, *, customer: str, charge: str, amount: Money, key: str) -> Outcome:
        """Refunds always reach a card charged before; a repeated key answers the first refund."""
        with self._write() as conn:
            row = conn.execute("SELECT reference, amount, currency FROM refunds WHERE key = ?", (key,)).fetchone()
            if row is not None:
                if (row[1], row[2]) != (amount.amount, amount.currency):
                    raise KeyReused(f"idempotency key {key} was used for {row[2]} {row[1]} before")
                return Outcome(True, row[0])
            fault = self._next_fault(conn)
            if fault != "timeout":
                conn.execute(
                    "INSERT INTO refunds VALUES (?, ?, ?, ?, ?)",
                    (key, _reference("sim_re_", key), charge, amount.amount, amount.currency),
                )
                made = conn.execute("SELECT reference FROM refunds WHERE key = ?", (key,)).fetchone()
        if fault is not None:
            raise GatewayUnavailable(f"the simulated gateway did not answer ({fault})")
        return Outcome(True, made[0])

    def find_refund(self, *, customer: str, charge: str, key: str) -> Outcome | None:
        """The refund with this key, if it was ever made."""
        with self._write() as conn:
            fault = self._next_fault(conn)
            row = conn.execute("SELECT reference FROM refunds WHERE key = ?", (key,)).fetchone()
        if fault is not None:
            raise GatewayUnavailable(f"the simulated gateway did not answer ({fault})")
        return None if row is None else Outcome(True, row[0])


def simulator_store(database_url: str) -> Path:
    """SEATWISE_GATEWAY_STORE, else beside a SQLite database (`seatwise.db` → `seatwise.gateway.sqlite3`),
    else in the working directory."""
    if path := config.gateway_store():
        return Path(path)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).with_suffix(".gateway.sqlite3")
    return Path("seatwise.gateway.sqlite3")
