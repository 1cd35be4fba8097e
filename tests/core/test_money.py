"""R14: money is an integer of minor units plus an ISO 4217 currency; no floats anywhere."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatwise.core.errors import BadInput
from seatwise.core.money import Money, check_currency, divide_half_up, exponent

# --- currencies and their minor units ---------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "digits"),
    [
        ("EUR", 2),
        ("USD", 2),
        ("JPY", 0),
        ("KWD", 3),
        # where CLDR's display digits differ from ISO 4217's minor units, ISO wins
        ("IQD", 3),
        ("RSD", 2),
        ("IRR", 2),
        ("ISK", 0),
        ("HUF", 2),
    ],
)
def test_r14_currency_minor_unit_digits(currency, digits):
    assert exponent(currency) == digits


def test_r14_currency_code_is_normalised_to_upper_case():
    assert check_currency(" eur ") == "EUR"
    assert Money.parse("1", "jpy").currency == "JPY"


@pytest.mark.parametrize("code", ["XYZ", "", "EURO", "EU", "12€"])
def test_r14_unknown_currency_is_bad_input(code):
    with pytest.raises(BadInput) as raised:
        Money.parse("12.50", code)
    assert raised.value.code == "unknown_currency"
    assert raised.value.status == 422


# --- parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.50", "EUR", 1250),
        ("12.5", "EUR", 1250),
        ("12", "EUR", 1200),
        ("0.01", "EUR", 1),
        (" 7.00 ", "EUR", 700),
        ("12.500", "EUR", 1250),  # trailing zeros beyond the minor unit are not extra precision
        ("-3.25", "EUR", -325),
        ("1000", "JPY", 1000),
        ("1000.0", "JPY", 1000),
        ("1.250", "KWD", 1250),
        ("1.25", "KWD", 1250),
        ("0.001", "KWD", 1),
        ("0", "KWD", 0),
    ],
)
def test_r14_parse_reads_decimal_text_into_minor_units(text, currency, minor):
    assert Money.parse(text, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("12.505", "EUR"),  # a third decimal in a two-decimal currency
        ("0.001", "EUR"),
        ("1000.5", "JPY"),  # the yen has no minor unit
        ("1.2345", "KWD"),  # the dinar has three
        ("abc", "EUR"),
        ("", "EUR"),
        ("12,50", "EUR"),
        ("€12.50", "EUR"),
        ("NaN", "EUR"),
        ("Infinity", "EUR"),
        ("-Infinity", "JPY"),
    ],
)
def test_r14_parse_rejects_malformed_or_too_precise_amounts(text, currency):
    with pytest.raises(BadInput) as raised:
        Money.parse(text, currency)
    assert raised.value.code == "invalid_amount"


@pytest.mark.parametrize(
    "text",
    [
        "1e999999",  # used to escape as decimal.Overflow instead of BadInput
        "1e-2000000",  # used to underflow silently to Money(0)
        "12345678901234567890123456.785",  # used to be rounded to 28 digits and accepted
        "1000000000000000000",  # 10**20 cents: beyond a 64-bit column
        "10000000000000000.00",  # 10**18 cents: the first amount refused
        "-10000000000000000",
    ],
)
def test_r14_parse_rejects_extreme_amounts_as_bad_input_not_a_crash_or_a_rounding(text):
    with pytest.raises(BadInput) as raised:
        Money.parse(text, "EUR")
    assert raised.value.code == "invalid_amount"


def test_r14_parse_keeps_large_but_sane_amounts_exact():
    # 10**18 - 1 minor units is the largest accepted amount; no digit may be lost on the way.
    assert Money.parse("9999999999999999.99", "EUR").amount == 999_999_999_999_999_999
    assert Money.parse("123456789012345.67", "EUR").amount == 12_345_678_901_234_567
    assert Money.parse("-999999999999999.999", "KWD").amount == -999_999_999_999_999_999
    assert Money.parse("999999999999999999", "JPY").amount == 999_999_999_999_999_999


def test_r14_money_refuses_floats_and_bools():
    with pytest.raises(TypeError):
        Money(12.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(Decimal("12.50"), "EUR")  # type: ignore[arg-type]


# --- formatting and arithmetic ----------------------------------------------------------


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(11250, "EUR"), "112.50"),
        (Money(5, "EUR"), "0.05"),
        (Money(-5, "EUR"), "-0.05"),
        (Money(0, "EUR"), "0.00"),
        (Money(2032, "JPY"), "2032"),
        (Money(1250, "KWD"), "1.250"),
        (Money(1, "KWD"), "0.001"),
    ],
)
def test_r14_decimal_string_shows_every_minor_digit(money, text):
    assert money.decimal_string() == text


def test_r14_zero_is_zero_in_the_normalised_currency():
    assert Money.zero("kwd") == Money(0, "KWD")


def test_r14_add_subtract_negate_stay_in_minor_units():
    a, b = Money(1250, "EUR"), Money(99, "EUR")
    assert a + b == Money(1349, "EUR")
    assert a - b == Money(1151, "EUR")
    assert -a == Money(-1250, "EUR")


def test_r14_different_currencies_never_mix():
    with pytest.raises(ValueError):
        Money(100, "EUR") + Money(100, "USD")
    with pytest.raises(ValueError):
        Money(100, "EUR") - Money(100, "JPY")


@pytest.mark.parametrize(
    ("amount", "num", "den", "expected"),
    [
        (12500, 27, 30, 11250),  # €125.00 × 27/30 = €112.50 exactly
        (3000, 21, 31, 2032),  # ¥63000/31 = 2032.26 → 2032
        (5, 1, 2, 3),  # 2.5 → 3: half goes up
        (-5, 1, 2, -3),  # -2.5 → -3: half away from zero, as ROUND_HALF_UP
        (7, 1, 3, 2),  # 2.33 → 2
        (8, 1, 3, 3),  # 2.67 → 3
        (12345, 27, 30, 11111),  # 11110.5 KWD fils → 11111
    ],
)
def test_r14_times_fraction_rounds_half_up_once(amount, num, den, expected):
    assert Money(amount, "EUR").times_fraction(num, den).amount == expected


@pytest.mark.parametrize("den", [0, -1])
def test_r14_divide_half_up_needs_a_positive_denominator(den):
    with pytest.raises(ValueError):
        divide_half_up(10, den)


@settings(max_examples=200, deadline=None)
@given(numerator=st.integers(-(10**15), 10**15), denominator=st.integers(1, 10**6))
def test_r14_divide_half_up_matches_decimal_round_half_up(numerator, denominator):
    exact = Decimal(numerator) / Decimal(denominator)  # 28 digits: ample for these ranges
    expected = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert divide_half_up(numerator, denominator) == expected


@settings(max_examples=200, deadline=None)
@given(
    numerator=st.integers(-(10**6), 10**6),
    denominator=st.sampled_from([2, 4, 10, 30, 62]),
)
def test_r14_divide_half_up_on_exact_halves(numerator, denominator):
    # Bias towards ties: an exact half must go away from zero, as ROUND_HALF_UP does.
    n = numerator * denominator + (denominator // 2) * (1 if numerator >= 0 else -1)
    expected = int((Decimal(n) / denominator).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert divide_half_up(n, denominator) == expected
    assert abs(divide_half_up(n, denominator)) == abs(numerator) + 1


@settings(max_examples=200, deadline=None)
@given(amount=st.integers(-(10**17), 10**17), currency=st.sampled_from(["EUR", "JPY", "KWD", "USD"]))
def test_r14_parse_reads_back_what_decimal_string_writes(amount, currency):
    money = Money(amount, currency)
    assert Money.parse(money.decimal_string(), currency) == money
