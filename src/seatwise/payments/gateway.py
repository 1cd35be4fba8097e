"""The payment gateway seam, and the built-in simulated card gateway (R21).

Only a gateway token and the last four digits are stored; the simulator's token says how
its test card behaves, as Stripe's test numbers do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from seatwise.core.cards import Card
from seatwise.core.money import Money

TEST_CARD_OUTCOMES = {
    "4242424242424242": "succeeds",
    "4000000000000002": "declined",
    "4000000000009995": "insufficient_funds",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the gateway answered: success, or a failure code (declined, insufficient_funds)."""

    succeeded: bool
    failure_code: str | None = None


class Gateway(Protocol):
    """What Seatwise needs of a card gateway; real gateways plug in behind it."""

    def tokenize(self, card: Card) -> str:
        """Exchange card details for the gateway's token, the only thing stored."""
        ...

    def charge(self, token: str, amount: Money, *, idempotency_key: str) -> Outcome:
        """Collect `amount` from the card behind `token`.

        The same key answers the same outcome without charging again: a billing run killed after
        charging but before its commit charges nobody twice when it runs again."""
        ...

    def refund(self, token: str, amount: Money, *, idempotency_key: str) -> Outcome:
        """Return `amount` to the card behind `token`, once per key."""
        ...


class SimulatedGateway:
    """Test cards: 4242… succeeds, 4000 0000 0000 0002 is declined, …9995 lacks funds; others succeed."""

    def tokenize(self, card: Card) -> str:
        """A token that says how the test card will behave."""
        return f"sim_{TEST_CARD_OUTCOMES.get(card.number, 'succeeds')}_{card.last4}"

    def charge(self, token: str, amount: Money, *, idempotency_key: str) -> Outcome:
        """Succeeds or fails as the test card's number says (so a repeated key answers the same)."""
        outcome = token.removeprefix("sim_").rsplit("_", 1)[0]
        return Outcome(True) if outcome == "succeeds" else Outcome(False, outcome)

    def refund(self, token: str, amount: Money, *, idempotency_key: str) -> Outcome:
        """Refunds always reach a card that was charged before."""
        return Outcome(True)


GATEWAY: Gateway = SimulatedGateway()
