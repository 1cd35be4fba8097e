"""The legal documents (R26): an invoice or credit note with what EU VAT law (VAT Directive art. 226) and EN 16931
ask of it, from which the PDF and the Peppol BIS 3.0 UBL are both rendered. Amounts are minor units; the totals
are worked out from the lines, so they always add up (EN 16931 BR-CO-10, BR-CO-13, BR-CO-15, BR-CO-17)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from seatwise.core.vat import RateTotal, by_rate


class Kind(enum.StrEnum):
    INVOICE = "invoice"  # UNCL 1001 code 380
    CREDIT_NOTE = "credit_note"  # 381


class PaymentMeans(enum.StrEnum):
    CARD = "card"  # charged to the card on file at issue
    TRANSFER = "transfer"  # paid by bank transfer to the vendor's IBAN


@dataclass(frozen=True, slots=True)
class Party:
    """The seller or the buyer as the document names them."""

    legal_name: str
    country: str  # ISO 3166-1 alpha-2
    address_line: str | None = None
    postcode: str | None = None
    city: str | None = None
    vat_id: str | None = None  # with its country prefix (NL000099998B57, EL… for Greece)
    company_id: str | None = None  # the trade register number (KvK in the Netherlands)
    iban: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """One line: what was supplied, for which days, how many at what unit price excl. VAT, and its VAT."""

    description: str
    quantity: int  # seats; negative for a credit on an invoice
    unit_price: Decimal  # major units excl. VAT, never negative; see `unit_price`
    net: int  # minor units excl. VAT, as invoiced: not always quantity × a price in whole cents
    period_start: date
    period_end: date  # the last day supplied (inclusive)
    category: str  # EN 16931's VAT category (UNCL 5305): S, AE, E, O
    rate: Decimal  # percent


@dataclass(frozen=True, slots=True)
class LegalDocument:
    """An invoice or a credit note as issued. In a credit note the lines are what is credited, positive."""

    kind: Kind
    number: str
    issue_date: date
    due_date: date
    currency: str
    seller: Party
    buyer: Party
    lines: tuple[DocumentLine, ...]
    language: str  # en | nl: the organisation's invoice language
    payment_means: PaymentMeans = PaymentMeans.CARD
    prepaid: int = 0  # paid before issue (EN 16931 BT-113): none yet, as credits are lines of the invoice itself
    buyer_reference: str | None = None
    po_number: str | None = None
    corrects_number: str | None = None  # a credit note: the invoice it corrects
    corrects_date: date | None = None
    reasons: tuple[tuple[str, str], ...] = ()  # (category, wording) for each category at 0 %, in the language
    notes: tuple[str, ...] = ()

    @property
    def breakdown(self) -> list[RateTotal]:
        """The VAT per category and rate, rounded once on the summed lines (BR-CO-17)."""
        return by_rate(((line.category, line.rate), line.net) for line in self.lines)

    @property
    def net(self) -> int:
        """The lines summed, excl. VAT (BT-106; with no document-level allowances also BT-109)."""
        return sum(line.net for line in self.lines)

    @property
    def vat(self) -> int:
        """The VAT of every rate (BT-110)."""
        return sum(rate.vat for rate in self.breakdown)

    @property
    def gross(self) -> int:
        """Net plus VAT (BT-112)."""
        return self.net + self.vat

    @property
    def amount_due(self) -> int:
        """What is still to be paid (BT-115); negative when credits exceed charges, to be paid back."""
        return self.gross - self.prepaid

    def reason(self, category: str) -> str | None:
        """Why a category carries no VAT, in the document's language (BR-AE-10, BR-E-10, BR-O-10)."""
        return dict(self.reasons).get(category)


def unit_price(net: int, quantity: int, *, exponent: int) -> Decimal:
    """The unit price excl. VAT in major units with the fewest decimals (at least the currency's) for which
    quantity × price rounds half up to the line's net exactly: a prorated line (5 licences × 27/30 days of
    €12.50 = €56.25; 3 × 10/30 of €12.50 = €12.50) need not be a whole number of cents a unit. Peppol BIS 3.0
    checks a line's net against its quantity and price to the cent; the price itself may have any decimals."""
    if quantity == 0:
        return Decimal(0)
    exact = Decimal(abs(net)).scaleb(-exponent) / abs(quantity)
    cent = Decimal(1).scaleb(-exponent)
    for places in range(exponent, exponent + 12):
        price = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        if (price * abs(quantity)).quantize(cent, rounding=ROUND_HALF_UP) == Decimal(abs(net)).scaleb(-exponent):
            return price
    return exact  # never reached for a quantity below 10**12
