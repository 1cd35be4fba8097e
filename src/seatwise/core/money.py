"""Money as integer minor units plus an ISO 4217 currency (R14)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import get_currency_precision, list_currencies

from seatwise.core.errors import BadInput


@lru_cache(maxsize=None)
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def check_currency(code: str) -> str:
    """Return the upper-cased ISO 4217 code, or raise BadInput."""
    upper = (code or "").strip().upper()
    if len(upper) != 3 or upper not in _known_currencies():
        raise BadInput(
            f"unknown currency {code!r}: expected an ISO 4217 code such as EUR, USD or JPY",
            code="unknown_currency",
        )
    return upper


def exponent(currency: str) -> int:
    """Number of minor-unit digits of a currency (EUR 2, JPY 0, KWD 3)."""
    return get_currency_precision(check_currency(currency))


def divide_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounding half away from zero, without floats."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units of one currency."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError("Money.amount must be an int of minor units")

    @classmethod
    def parse(cls, text: str, currency: str) -> "Money":
        """Read a decimal string such as '12.50' in the currency's minor units."""
        code = check_currency(currency)
        digits = exponent(code)
        try:
            value = Decimal(str(text).strip())
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            raise BadInput(f"invalid amount {text!r}: expected a decimal number such as 12.50", code="invalid_amount")
        scaled = value.scaleb(digits)
        if scaled != scaled.to_integral_value():
            raise BadInput(
                f"invalid amount {text!r}: {code} has {digits} decimal places",
                code="invalid_amount",
            )
        return cls(int(scaled), code)

    @classmethod
    def zero(cls, currency: str) -> "Money":
        return cls(0, check_currency(currency))

    def decimal_string(self) -> str:
        """The amount as a plain decimal string ('112.50', '2032', '1.250')."""
        digits = exponent(self.currency)
        return str(Decimal(self.amount).scaleb(-digits).quantize(Decimal(1).scaleb(-digits)))

    def __add__(self, other: "Money") -> "Money":
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> "Money":
        return Money(-self.amount, self.currency)

    def times_fraction(self, numerator: int, denominator: int) -> "Money":
        """Multiply by numerator/denominator, rounding half up once (R15)."""
        return Money(divide_half_up(self.amount * numerator, denominator), self.currency)

    def _same_currency(self, other: "Money") -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} and {other.currency}")
