"""The card gateway seam (R21, R32).

Seatwise keeps only a gateway's customer and payment-method ids and a card's last four digits.
Every charge and refund carries an idempotency key that names it on every retry, and can be looked
up by that key, so that a call whose answer was lost is found rather than repeated. Gateways are
called outside any database transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from seatwise.core.cards import Card
from seatwise.core.money import Money

# Test cards both gateways know (Stripe's numbers): what charging them does.
TEST_CARD_OUTCOMES = {
    "4242424242424242": "succeeds",
    "4000000000000002": "declined",
    "4000000000000341": "declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
}
# Declines no retry of the same card overcomes: the invoice waits for a new card.
HARD_DECLINES = frozenset({"expired_card", "lost_card", "stolen_card", "pickup_card", "incorrect_number"})
# Every failure code a charge can have, whichever gateway made it (each has words on the invoice page).
FAILURE_CODES = ("declined", "insufficient_funds", *sorted(HARD_DECLINES))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the gateway did: money moved, or a failure code (declined, insufficient_funds, expired_card)."""

    succeeded: bool
    reference: str | None = None  # the gateway's id of the charge or refund
    failure_code: str | None = None

    @property
    def hard(self) -> bool:
        """A decline that retrying the same card cannot overcome."""
        return self.failure_code in HARD_DECLINES


@dataclass(frozen=True, slots=True)
class SavedCard:
    """A card the gateway keeps for a customer: all Seatwise stores of it."""

    customer: str
    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


class GatewayUnavailable(Exception):
    """The gateway gave no answer: whether it acted is unknown until the key is looked up."""


class KeyReused(Exception):
    """An idempotency key came back with another amount: a bug, never a second charge."""


class Gateway(Protocol):
    """What Seatwise needs of a card gateway."""

    def save_card(
        self, *, org_id: int, customer: str | None, card: Card | None, payment_method: str | None
    ) -> SavedCard:
        """Keep a card for the organisation's customer (made if `customer` is None): typed details
        (the simulator, Stripe test mode) or a payment-method id made by the gateway's own page."""
        ...

    def charge(self, *, customer: str, token: str, amount: Money, key: str, metadata: Mapping[str, str]) -> Outcome:
        """Charge the card off-session, once per key."""
        ...

    def find_charge(self, *, customer: str, key: str) -> Outcome | None:
        """What became of the charge with this key, or None if the gateway never made it."""
        ...

    def refund(self, *, customer: str, charge: str, amount: Money, key: str) -> Outcome:
        """Return part or all of a charge to its card, once per key."""
        ...

    def find_refund(self, *, customer: str, charge: str, key: str) -> Outcome | None:
        """What became of the refund with this key, or None if the gateway never made it."""
        ...
