"""Money as integer minor units plus an ISO 4217 currency (R14)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

from babel.numbers import get_currency_precision, list_currencies

from seatwise.core.errors import BadInput, ErrorCode

MAX_MINOR_DIGITS = 18  # amounts stay below 10**18 minor units, which fits a signed 64-bit column


@cache
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


# ISO 4217 codes that are not money one can be billed in: metals, funds, test and "no currency".
_NOT_MONEY = frozenset({"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU", "XTS", "XUA", "XXX"})


def check_currency(code: str) -> str:
    """Return the upper-cased ISO 4217 code, or raise BadInput."""
    upper = (code or "").strip().upper()
    if len(upper) != 3 or upper not in _known_currencies() or upper in _NOT_MONEY:
        raise BadInput(
            f"unknown currency {code!r}: expected an ISO 4217 code such as EUR, USD or JPY",
            code=ErrorCode.UNKNOWN_CURRENCY,
        )
    return upper


# Babel's precision is CLDR's display precision, which drops the minor unit of some
# currencies that ISO 4217 still defines; money must follow ISO 4217 (R14).
_ISO_4217_WHERE_CLDR_DIFFERS = {
    "AFN": 2,
    "ALL": 2,
    "IQD": 3,
    "IRR": 2,
    "KPW": 2,
    "LAK": 2,
    "LBP": 2,
    "MGA": 2,
    "MMK": 2,
    "RSD": 2,
    "SLL": 2,
    "SOS": 2,
    "SYP": 2,
    "YER": 2,
}


def exponent(currency: str) -> int:
    """Number of ISO 4217 minor-unit digits of a currency (EUR 2, JPY 0, KWD 3)."""
    code = check_currency(currency)
    return _ISO_4217_WHERE_CLDR_DIFFERS.get(code, get_currency_precision(code))


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
    def parse(cls, text: str, currency: str) -> Money:
        """Read a decimal string such as '12.50' in the currency's minor units."""
        code = check_currency(currency)
        digits = exponent(code)
        try:
            value = Decimal(str(text).strip())
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            raise BadInput(
                f"invalid amount {text!r}: expected a decimal number such as 12.50", code=ErrorCode.INVALID_AMOUNT
            )
        # Scale with integers, not Decimal arithmetic: Decimal rounds to 28 digits and
        # under/overflows silently or with its own exceptions.
        sign, coefficient_digits, exp = value.as_tuple()
        assert isinstance(exp, int)  # only NaN and infinities have a letter here, and they are refused above
        coefficient = int("".join(map(str, coefficient_digits)))
        if coefficient == 0:
            return cls(0, code)
        if value.adjusted() + digits >= MAX_MINOR_DIGITS:
            raise BadInput(f"invalid amount {text!r}: too large", code=ErrorCode.INVALID_AMOUNT)
        shift = exp + digits
        if shift < 0:
            # More decimals than the currency has: they must all be zeros ('12.500' EUR).
            too_fine = -shift > len(coefficient_digits)  # then the coefficient cannot be a multiple of 10**-shift
            coefficient, rest = (0, 1) if too_fine else divmod(coefficient, 10**-shift)
            if rest:
                raise BadInput(
                    f"invalid amount {text!r}: {code} has {digits} decimal places",
                    code=ErrorCode.INVALID_AMOUNT,
                )
        else:
            coefficient *= 10**shift
        return cls(-coefficient if sign else coefficient, code)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, check_currency(currency))

    def decimal_string(self) -> str:
        """The amount as a plain decimal string ('112.50', '2032', '1.250')."""
        digits = exponent(self.currency)
        return str(Decimal(self.amount).scaleb(-digits).quantize(Decimal(1).scaleb(-digits)))

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def times_fraction(self, numerator: int, denominator: int) -> Money:
        """Multiply by numerator/denominator, rounding half up once (R15)."""
        return Money(divide_half_up(self.amount * numerator, denominator), self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} and {other.currency}")
