"""Which VAT each line carries (R24): the organisation's treatment on the day it is invoiced, and for a credit
the treatment of the charge it corrects. No vendor profile yet: no VAT, as the lines before it had none."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from seatwise.billing.models import Charge
from seatwise.core.invoicing import LineKind
from seatwise.core.vat import Buyer, Seller, TaxKey, treatment, vat_of
from seatwise.tax import service as tax

CORRECTIONS = frozenset({LineKind.SEATS_REMOVED.value, LineKind.CANCELLATION.value})


class Line(NamedTuple):
    """What deciding a line's VAT reads of it (a row of `charges` has the same fields)."""

    id: int
    org_id: int
    subscription_id: int
    kind: str
    amount: int
    period_start: datetime


def stored(category: str | None, rate: str | None) -> TaxKey | None:
    """A line's VAT as its row keeps it."""
    return None if category is None or rate is None else (category, Decimal(rate))


def columns(key: TaxKey | None) -> dict[str, str | None]:
    """A line's VAT as its row keeps it: the category and the rate in percent."""
    return (
        {"vat_category": None, "vat_rate": None} if key is None else {"vat_category": key[0], "vat_rate": str(key[1])}
    )


def treatments(session: Session, *, org_ids: Sequence[int], on: date) -> dict[int, TaxKey | None]:
    """Each organisation's category and rate on a day (R24)."""
    seller = tax.seller_of(tax.get_vendor(session))
    if seller is None:
        return dict.fromkeys(org_ids)
    # Without a billing profile (R23) an organisation is a consumer in the vendor's country.
    buyers = tax.buyers_of(session, org_ids=org_ids)
    return {org_id: _key(seller, buyers.get(org_id), on) for org_id in org_ids}


def _key(seller: Seller, buyer: Buyer | None, on: date) -> TaxKey:
    return treatment(seller=seller, buyer=buyer or Buyer(country=None), on=on).key


def corrections(session: Session, *, credits: Sequence[Any]) -> dict[int, Any]:
    """Per credit line (by id), the invoiced charge it corrects: the latest charge of its subscription covering
    the credit's first day, with its invoice and VAT. A credit whose charge is not invoiced yet has none here."""
    if not credits:
        return {}
    first, last = min(c.period_start for c in credits), max(c.period_start for c in credits)
    charged: dict[int, list[Any]] = {}
    for row in session.execute(
        select(
            Charge.subscription_id,
            Charge.period_start,
            Charge.period_end,
            Charge.invoice_id,
            Charge.vat_category,
            Charge.vat_rate,
        )
        .where(
            Charge.subscription_id.in_({c.subscription_id for c in credits}),
            Charge.amount > 0,
            Charge.invoice_id.is_not(None),
            Charge.period_start <= last,
            Charge.period_end > first,
        )
        .order_by(Charge.id.desc())
    ):
        charged.setdefault(row.subscription_id, []).append(row)
    found = {}
    for credit in credits:
        for row in charged.get(credit.subscription_id, ()):
            if row.period_start <= credit.period_start < row.period_end:
                found[credit.id] = row
                break
    return found


def line_keys(session: Session, *, lines: Sequence[Any], on: date) -> list[TaxKey | None]:
    """The VAT of lines being invoiced on a day, in their order: `Line`s, or rows of `charges` with its fields."""
    by_org = treatments(session, org_ids=sorted({line.org_id for line in lines}), on=on)
    if all(key is None for key in by_org.values()):
        return [None] * len(lines)
    corrected = corrections(session, credits=[line for line in lines if line.kind in CORRECTIONS])
    return [
        stored(corrected[line.id].vat_category, corrected[line.id].vat_rate)
        if line.id in corrected
        else by_org[line.org_id]
        for line in lines
    ]


def vat_on(session: Session, *, org_id: int, sub_id: int, kind: LineKind, amount: int, on: datetime) -> int:
    """The VAT of a charge or credit arising now, as its invoice will carry it when alone at its rate: what a
    preview shows beside the amount (R24), by the same rules. `amount` is positive for a credit too."""
    line = Line(id=0, org_id=org_id, subscription_id=sub_id, kind=kind.value, amount=amount, period_start=on)
    key = line_keys(session, lines=[line], on=on.date())[0]
    return 0 if key is None else vat_of(amount, key[1])
