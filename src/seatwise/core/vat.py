"""VAT on what the vendor sells (R24): which category and rate a line carries, and the VAT of an invoice per
rate, rounded once. Prices exclude VAT. Categories are EN 16931's (UNCL 5305): S standard, AE reverse charge,
E exempt, O outside the scope of EU VAT."""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from babel import Locale
from stdnum import iban as ibans
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

from seatwise.core.errors import BadInput, ErrorCode


class Category(enum.StrEnum):
    STANDARD = "S"
    REVERSE_CHARGE = "AE"  # an EU business in another member state accounts for the VAT itself
    EXEMPT = "E"
    OUTSIDE_SCOPE = "O"  # a customer outside the EU


# Standard rates of the EU-27 from 1 January 2023, each with the day it took effect; a country's rate on a
# day is the last one that took effect by then. Sources: the European Commission's "VAT rates applied in the
# member states" and the national changes since (EE 2024 and 2025, FI 2024, LU 2024, RO 2025, SK 2025).
STANDARD_RATES: dict[str, tuple[tuple[date, Decimal], ...]] = {
    country: tuple((date.fromisoformat(since), Decimal(rate)) for since, rate in changes)
    for country, changes in {
        "AT": (("2023-01-01", "20"),),
        "BE": (("2023-01-01", "21"),),
        "BG": (("2023-01-01", "20"),),
        "CY": (("2023-01-01", "19"),),
        "CZ": (("2023-01-01", "21"),),
        "DE": (("2023-01-01", "19"),),
        "DK": (("2023-01-01", "25"),),
        "EE": (("2023-01-01", "20"), ("2024-01-01", "22"), ("2025-07-01", "24")),
        "ES": (("2023-01-01", "21"),),
        "FI": (("2023-01-01", "24"), ("2024-09-01", "25.5")),
        "FR": (("2023-01-01", "20"),),
        "GR": (("2023-01-01", "24"),),
        "HR": (("2023-01-01", "25"),),
        "HU": (("2023-01-01", "27"),),
        "IE": (("2023-01-01", "23"),),
        "IT": (("2023-01-01", "22"),),
        "LT": (("2023-01-01", "21"),),
        "LU": (("2023-01-01", "16"), ("2024-01-01", "17")),
        "LV": (("2023-01-01", "21"),),
        "MT": (("2023-01-01", "18"),),
        "NL": (("2023-01-01", "21"),),
        "PL": (("2023-01-01", "23"),),
        "PT": (("2023-01-01", "23"),),
        "RO": (("2023-01-01", "19"), ("2025-08-01", "21")),
        "SE": (("2023-01-01", "25"),),
        "SI": (("2023-01-01", "22"),),
        "SK": (("2023-01-01", "20"), ("2025-01-01", "23")),
    }.items()
}
EU = frozenset(STANDARD_RATES)
ZERO = Decimal(0)


def standard_rate(country: str, *, on: date) -> Decimal:
    """The EU member state's standard VAT rate in percent on a day."""
    changes = STANDARD_RATES.get(country)
    if changes is None:
        raise BadInput(
            f"no EU VAT rate for {country!r}: expected an EU member state such as NL, BE or DE",
            code=ErrorCode.INVALID_COUNTRY,
        )
    known = [rate for since, rate in changes if since <= on]
    if not known:
        raise BadInput(
            f"no VAT rate of {country} known for {on.isoformat()}: expected a day from {changes[0][0].isoformat()} on",
            code=ErrorCode.INVALID_COUNTRY,
        )
    return known[-1]


# Babel's territories that are regions or groupings, not countries an address can be in.
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "XK", "ZZ"})


def check_country(code: str | None) -> str:
    """An ISO 3166-1 alpha-2 country code, upper-cased."""
    upper = (code or "").strip().upper()
    if len(upper) != 2 or not upper.isalpha() or upper in _NOT_COUNTRIES or upper not in Locale("en").territories:
        raise BadInput(
            f"unknown country {code!r}: expected an ISO 3166-1 code such as NL, BE or US",
            code=ErrorCode.INVALID_COUNTRY,
        )
    return upper


def check_iban(iban: str) -> str:
    """An IBAN checked offline (country format and check digits), compacted."""
    try:
        return ibans.validate(iban)
    except ValidationError as exc:
        raise BadInput(
            f"invalid IBAN {iban!r} ({str(exc).lower().rstrip('.')}): expected one such as NL91ABNA0417164300",
            code=ErrorCode.INVALID_IBAN,
        ) from None


def check_vat_id(vat_id: str, *, country: str) -> str:
    """An EU VAT ID checked offline by its country's format and checksum (R23), compacted (`NL 0000.99998.B57`
    is `NL000099998B57`); one of another country than the organisation's is refused too."""
    prefix = "EL" if country == "GR" else country  # Greece's VAT IDs start with EL, not GR
    try:
        compact = eu_vat.validate(vat_id)
    except ValidationError as exc:
        raise BadInput(
            f"invalid VAT ID {vat_id!r} ({str(exc).lower().rstrip('.')}): expected one such as NL123456789B01",
            code=ErrorCode.INVALID_VAT_ID,
        ) from None
    if not compact.startswith(prefix):
        raise BadInput(
            f"VAT ID {vat_id!r} is not one of {country}: expected one that starts with {prefix}",
            code=ErrorCode.INVALID_VAT_ID,
        )
    return compact


@dataclass(frozen=True, slots=True)
class Seller:
    """The vendor, as far as VAT goes (R22)."""

    country: str
    vat_registered: bool  # without a VAT ID the vendor charges none (the Dutch KOR)
    oss: bool  # registered for the One-Stop Shop: EU consumers abroad pay their own country's rate


@dataclass(frozen=True, slots=True)
class Buyer:
    """The organisation, as far as VAT goes (R23); no billing profile is a consumer in the vendor's country."""

    country: str | None
    vat_id: str | None = None  # checked before it gets here: a valid VAT ID of an EU business
    exempt_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Treatment:
    """How a line is taxed: its category, its rate in percent, the country whose VAT it is, and why."""

    category: Category
    rate: Decimal
    country: str | None  # whose VAT is charged (None: none is)
    reason: str | None = None  # for 0 %: the wording the invoice must carry

    @property
    def key(self) -> tuple[str, Decimal]:
        """What an invoice sums its VAT by (EN 16931's VAT breakdown: category and rate)."""
        return (self.category.value, self.rate)


REVERSE_CHARGE = "VAT reverse charged"
OUTSIDE_EU = "Not subject to EU VAT"
SMALL_BUSINESS = "Small business exempt from VAT"


def treatment(*, seller: Seller, buyer: Buyer, on: date) -> Treatment:
    """The category and rate of what the vendor sells to this buyer on this day (R24)."""
    if not seller.vat_registered:
        return Treatment(Category.EXEMPT, ZERO, None, SMALL_BUSINESS)
    if buyer.exempt_reason:
        return Treatment(Category.EXEMPT, ZERO, None, buyer.exempt_reason)
    home = buyer.country is None or buyer.country == seller.country
    if home:
        return Treatment(Category.STANDARD, standard_rate(seller.country, on=on), seller.country)
    assert buyer.country is not None
    if buyer.country not in EU:
        return Treatment(Category.OUTSIDE_SCOPE, ZERO, None, OUTSIDE_EU)
    if buyer.vat_id:
        return Treatment(Category.REVERSE_CHARGE, ZERO, None, REVERSE_CHARGE)
    taxed_in = buyer.country if seller.oss else seller.country
    return Treatment(Category.STANDARD, standard_rate(taxed_in, on=on), taxed_in)


@dataclass(frozen=True, slots=True)
class RateTotal:
    """One line of an invoice's VAT breakdown: the net amount at a category and rate, and its VAT."""

    category: str
    rate: Decimal
    net: int  # minor units
    vat: int  # minor units


def vat_of(net: int, rate: Decimal) -> int:
    """VAT on a net amount in minor units, rounded half up (away from zero for a credit) once."""
    return int((Decimal(net) * rate / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


TaxKey = tuple[str, Decimal]  # a line's category and rate, as an invoice stores it


def breakdown(lines: Iterable[tuple[Treatment, int]]) -> list[RateTotal]:
    """An invoice's VAT per category and rate: the nets summed first, then rounded once (EN 16931 BR-CO-17)."""
    return by_rate((how.key, net) for how, net in lines)


def by_rate(lines: Iterable[tuple[TaxKey, int]]) -> list[RateTotal]:
    """`breakdown` of lines known by their category and rate only."""
    nets: dict[TaxKey, int] = defaultdict(int)
    for key, net in lines:
        nets[key] += net
    return [RateTotal(category, rate, net, vat_of(net, rate)) for (category, rate), net in sorted(nets.items())]
