"""The payment gateway seam, and the built-in simulated card gateway (R21).

Only a gateway token and the last four digits are stored; the simulator's token says how
its test card behaves, as Stripe's test numbers do.
"""

from __future__ import annotations

from typing import Protocol

from seatwise.core.cards import Card

TEST_CARD_OUTCOMES = {
    "4242424242424242": "succeeds",
    "4000000000000002": "declined",
    "4000000000009995": "insufficient_funds",
}


class Gateway(Protocol):
    """What Seatwise needs of a card gateway; real gateways plug in behind it."""

    def tokenize(self, card: Card) -> str:
        """Exchange card details for the gateway's token, the only thing stored."""
        ...


class SimulatedGateway:
    """Test cards: 4242… succeeds, 4000 0000 0000 0002 is declined, …9995 lacks funds; others succeed."""

    def tokenize(self, card: Card) -> str:
        """A token that says how the test card will behave."""
        return f"sim_{TEST_CARD_OUTCOMES.get(card.number, 'succeeds')}_{card.last4}"
