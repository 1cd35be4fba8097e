"""Payment methods of an organisation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from seatwise.core.cards import parse_card
from seatwise.core.errors import BadInput, ErrorCode
from seatwise.core.roles import Actor, Permission, require
from seatwise.db import page
from seatwise.events import service as events
from seatwise.organizations.service import get_org
from seatwise.payments.gateway import Gateway, SimulatedGateway
from seatwise.payments.models import PaymentMethod


def add_payment_method(
    session: Session,
    *,
    org_id: int,
    card_number: str | None,
    expiry: str | None,
    invoice: bool,
    actor: Actor,
    now: datetime,
    gateway: Gateway | None = None,
) -> PaymentMethod:
    """Add a card (number and MM/YY expiry) or pay-by-invoice to an organisation."""
    get_org(session, org_id=org_id)
    require(actor, Permission.MANAGE_BILLING, org_id)
    if invoice == (card_number is not None) or (invoice and expiry is not None):
        raise BadInput(
            "give either a card (--card NUMBER --exp MM/YY; API: card, exp) or pay-by-invoice "
            "(--invoice; API: invoice)",
            code=ErrorCode.INVALID_PAYMENT_METHOD,
        )
    if invoice:
        method = PaymentMethod(org_id=org_id, kind="invoice", created_at=now)
    else:
        if expiry is None:
            raise BadInput(
                "missing expiry: expected the card's expiry as MM/YY (--exp; API: exp)", code=ErrorCode.INVALID_EXPIRY
            )
        assert card_number is not None  # a card number comes with every payment method but pay-by-invoice
        card = parse_card(number=card_number, expiry=expiry, now=now)
        token = (gateway or SimulatedGateway()).tokenize(card)
        method = PaymentMethod(
            org_id=org_id,
            kind="card",
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            token=token,
            created_at=now,
        )
    session.add(method)
    events.audit_change(
        session, actor=actor.label, action="payment_method.added", row=method, org_id=org_id, before=None, at=now
    )
    return method


def list_payment_methods(
    session: Session, *, org_id: int, after: int | None = None, limit: int | None = None
) -> list[PaymentMethod]:
    """The organisation's payment methods in use, newest first (older than the id `after`, at most `limit`)."""
    return list(
        session.scalars(
            page(
                select(PaymentMethod).where(PaymentMethod.org_id == org_id, PaymentMethod.removed_at.is_(None)),
                PaymentMethod.id,
                after=after,
                limit=limit,
                descending=True,
            )
        )
    )


def _usable_at(at: datetime) -> ColumnElement[bool]:
    card_valid = (PaymentMethod.exp_year > at.year) | (
        (PaymentMethod.exp_year == at.year) & (PaymentMethod.exp_month >= at.month)
    )
    return (
        (PaymentMethod.created_at <= at)
        & or_(PaymentMethod.removed_at.is_(None), PaymentMethod.removed_at > at)
        & or_(PaymentMethod.kind == "invoice", card_valid)
    )


def usable_method_at(session: Session, *, org_id: int, at: datetime) -> PaymentMethod | None:
    """The newest payment method usable at `at`: pay-by-invoice, or a card not yet expired (R2, R21)."""
    return session.scalar(
        select(PaymentMethod)
        .where(PaymentMethod.org_id == org_id, _usable_at(at))
        .order_by(PaymentMethod.id.desc())
        .limit(1)
    )


def usable_methods_at(session: Session, *, org_ids: list[int], at: datetime) -> dict[int, PaymentMethod]:
    """`usable_method_at` for many organisations in one query."""
    newest: dict[int, PaymentMethod] = {}
    for method in session.scalars(
        select(PaymentMethod).where(PaymentMethod.org_id.in_(org_ids), _usable_at(at)).order_by(PaymentMethod.id)
    ):
        newest[method.org_id] = method
    return newest


def payment_method_at(session: Session, *, org_id: int, at: datetime) -> bool:
    """Whether a usable payment method was on file at `at`."""
    return usable_method_at(session, org_id=org_id, at=at) is not None
