"""Card details as typed by an admin: number (Luhn) and expiry (MM/YY)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from seatwise.core.errors import BadInput, ErrorCode

_EXPIRY = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*$")


@dataclass(frozen=True, slots=True)
class Card:
    number: str
    exp_month: int
    exp_year: int

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def brand(self) -> str:
        if self.number.startswith("4"):
            return "visa"
        if self.number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= self.number[:4] <= "2720":
            return "mastercard"
        if self.number[:2] in {"34", "37"}:
            return "amex"
        return "card"


def luhn_ok(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check that every card number carries."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def parse_card(*, number: str, expiry: str, now: datetime) -> Card:
    """Check a card number and an MM/YY expiry that has not passed; raise BadInput otherwise."""
    digits = re.sub(r"[\s-]", "", number or "")
    if not re.fullmatch(r"[0-9]{12,19}", digits) or not luhn_ok(digits):  # ASCII digits only: "²".isdigit() is True
        raise BadInput(
            "invalid card number: expected 12 to 19 digits that pass the Luhn check, such as 4242 4242 4242 4242",
            code=ErrorCode.INVALID_CARD_NUMBER,
        )
    match = _EXPIRY.match(expiry or "")
    if not match or not 1 <= int(match.group(1)) <= 12:
        raise BadInput(
            f"invalid expiry {expiry!r}: expected MM/YY with a month from 01 to 12", code=ErrorCode.INVALID_EXPIRY
        )
    month, year = int(match.group(1)), int(match.group(2))
    if year < 100:
        year += 2000
    if (year, month) < (now.year, now.month):
        raise BadInput(
            f"card expired in {month:02d}/{year}: expected an expiry date that has not passed",
            code=ErrorCode.CARD_EXPIRED,
        )
    return Card(digits, month, year)
