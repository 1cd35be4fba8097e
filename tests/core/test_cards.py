"""R21 (card input): numbers pass Luhn, expiry is MM/YY and has not passed; anything else is BadInput."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatwise.core.cards import Card, luhn_ok, parse_card
from seatwise.core.errors import BadInput

NOW = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


def luhn_check_digit(payload: str) -> str:
    """An independent oracle: the digit that makes payload + digit pass the Luhn check."""
    total = 0
    # Counting from the right of the full number, the check digit is position 1, so the
    # payload's rightmost digit is position 2 and is doubled.
    for position, ch in enumerate(reversed(payload), start=2):
        d = int(ch)
        if position % 2 == 0:
            d *= 2
            d = d // 10 + d % 10
        total += d
    return str((10 - total % 10) % 10)


@pytest.mark.parametrize(
    ("number", "digits", "brand"),
    [
        ("4242 4242 4242 4242", "4242424242424242", "visa"),
        ("4242-4242-4242-4242", "4242424242424242", "visa"),
        ("4000 0000 0000 0002", "4000000000000002", "visa"),  # the declined test card is a valid number
        ("5555 5555 5555 4444", "5555555555554444", "mastercard"),
        ("2223 0031 2200 3222", "2223003122003222", "mastercard"),
        ("3782 822463 10005", "378282246310005", "amex"),
        ("6011 1111 1111 1117", "6011111111111117", "card"),
    ],
)
def test_r21_valid_test_cards_are_accepted(number, digits, brand):
    card = parse_card(number=number, expiry="12/30", now=NOW)
    assert card == Card(digits, 12, 2030)
    assert card.brand == brand
    assert card.last4 == digits[-4:]


@pytest.mark.parametrize(
    "number",
    [
        "4242 4242 4242 4241",  # last digit off by one
        "4242 4242 4242 4224",  # two digits swapped
        "1234 5678 9012 3456",
        "4242 4242 42",  # too short
        "4242 4242 4242 4242 4242",  # 20 digits: too long
        "4242 4242 4242 424x",
        "",
        "4242 4242 4242 424²",  # '²'.isdigit() is True; this used to crash with ValueError
        "４２４２４２４２４２４２４２４２",  # full-width digits
    ],
)
def test_r21_bad_card_numbers_are_bad_input(number):
    with pytest.raises(BadInput) as raised:
        parse_card(number=number, expiry="12/30", now=NOW)
    assert raised.value.code == "invalid_card_number"
    assert raised.value.status == 422


@pytest.mark.parametrize("expiry", ["13/99", "00/30", "1/", "12-30", "12/3", "12/300", "abc", ""])
def test_r21_bad_expiry_is_bad_input(expiry):
    with pytest.raises(BadInput) as raised:
        parse_card(number="4242424242424242", expiry=expiry, now=NOW)
    assert raised.value.code == "invalid_expiry"


@pytest.mark.parametrize("expiry", ["10/26", "1/26", "12/2025", "01/00"])
def test_r21_expired_card_is_bad_input(expiry):
    with pytest.raises(BadInput) as raised:
        parse_card(number="4242424242424242", expiry=expiry, now=NOW)
    assert raised.value.code == "card_expired"


@pytest.mark.parametrize(
    ("expiry", "month", "year"),
    [("11/26", 11, 2026), ("11/2026", 11, 2026), (" 3 / 27 ", 3, 2027), ("12/99", 12, 2099)],
)
def test_r21_card_is_valid_through_its_expiry_month(expiry, month, year):
    card = parse_card(number="4242424242424242", expiry=expiry, now=NOW)
    assert (card.exp_month, card.exp_year) == (month, year)


def test_r21_card_expiring_this_month_stops_working_next_month():
    parse_card(number="4242424242424242", expiry="11/26", now=datetime(2026, 11, 30, 23, 59, tzinfo=UTC))
    with pytest.raises(BadInput) as raised:
        parse_card(number="4242424242424242", expiry="11/26", now=datetime(2026, 12, 1, tzinfo=UTC))
    assert raised.value.code == "card_expired"


@settings(max_examples=200, deadline=None)
@given(payload=st.text(alphabet="0123456789", min_size=11, max_size=18))
def test_r21_luhn_accepts_exactly_the_right_check_digit(payload):
    good = luhn_check_digit(payload)
    assert luhn_ok(payload + good)
    for other in "0123456789":
        if other != good:
            assert not luhn_ok(payload + other)
    card = parse_card(number=payload + good, expiry="12/30", now=NOW)
    assert card.number == payload + good
