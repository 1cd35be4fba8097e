"""Messages in the organisation's language (en, nl) from Babel catalogues, and money and dates per locale."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path

from babel.dates import format_date, format_interval
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

from seatwise.core.money import Money, exponent

LOCALES = ("en", "nl")
_DIR = Path(__file__).parent / "locale"
_BABEL_LOCALE = {"en": "en_GB", "nl": "nl_NL"}


@cache
def _catalog(locale: str) -> dict[str, str]:
    with open(_DIR / locale / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f, locale=locale)
    # Plural messages (a tuple of forms) are `ngettext`'s: gettext looks up one string.
    return {
        m.id: m.string
        for m in catalog
        if isinstance(m.id, str) and isinstance(m.string, str) and m.id and m.string and not m.fuzzy
    }


@cache
def _plurals(locale: str) -> dict[str, tuple[str, ...]]:
    with open(_DIR / locale / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f, locale=locale)
    return {
        m.id[0]: tuple(m.string)
        for m in catalog
        if isinstance(m.id, tuple) and isinstance(m.string, tuple) and all(m.string) and not m.fuzzy
    }


def N_(msgid: str) -> str:
    """Mark a message for the catalogues where it is defined; it is translated where it is shown."""
    return msgid


def gettext(locale: str, msgid: str, **params: object) -> str:
    """The translation of `msgid` (English when missing), with `{name}` placeholders filled."""
    text = _catalog(locale).get(msgid, msgid) if locale in LOCALES else msgid
    return text.format(**params) if params else text


def ngettext(locale: str, singular: str, plural: str, count: int, **params: object) -> str:
    """The form of a message for `count` (English when missing), with `{count}` and `{name}` placeholders filled."""
    # English and Dutch both have one form for exactly 1 and another for every other number.
    form = 0 if count == 1 else 1
    forms = _plurals(locale).get(singular) if locale in LOCALES else None
    text = forms[form] if forms and len(forms) > form else (singular, plural)[form]
    return text.format(count=count, **params)


@lru_cache(maxsize=8192)  # Babel's formatting is slow next to a page's own work; pages repeat the same values
def format_money(money: Money, locale: str) -> str:
    """€112.50 in English, € 112,50 in Dutch."""
    value = Decimal(money.amount).scaleb(-exponent(money.currency))
    return format_currency(value, money.currency, locale=_BABEL_LOCALE.get(locale, "en_GB"))


@lru_cache(maxsize=8192)
def format_price(value: Decimal, currency: str, locale: str) -> str:
    """A unit price in major units with all its decimals: €4.167 / € 4,167 (a prorated line's, R26)."""
    return format_currency(value, currency, locale=_BABEL_LOCALE.get(locale, "en_GB"), decimal_quantization=False)


def format_rate(rate: Decimal, locale: str) -> str:
    """A VAT rate in percent without its % sign: 21, 25.5 / 25,5."""
    return format_decimal(rate, locale=_BABEL_LOCALE.get(locale, "en_GB"))


def format_day(at: datetime | None, locale: str) -> str:
    """A date in words: 26 November 2026 / 26 november 2026."""
    return "" if at is None else format_date(at.date(), "long", locale=_BABEL_LOCALE.get(locale, "en_GB"))


@lru_cache(maxsize=8192)
def format_day_range(start: datetime, end: datetime, locale: str) -> str:
    """The days of [start, end) as a short range: 4–30 Nov 2026 / 4–30 nov 2026."""
    last = (end - timedelta(days=1)).date()
    return format_interval(start.date(), max(last, start.date()), "yMMMd", locale=_BABEL_LOCALE.get(locale, "en_GB"))
