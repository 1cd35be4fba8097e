"""Payment methods of an organisation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from seatwise.core.cards import Card, parse_card
from seatwise.core.errors import BadInput, ErrorCode, GatewayDown, NotFound, Refused
from seatwise.core.roles import Actor, Permission, require
from seatwise.db import page
from seatwise.events import service as events
from seatwise.organizations.service import get_org
from seatwise.payments.gateway import Gateway, GatewayUnavailable, SavedCard
from seatwise.payments.models import PaymentMethod


@dataclass(frozen=True, slots=True)
class CardRequest:
    """A card to save at the gateway for an organisation: typed details or the gateway's own payment-method id."""

    org_id: int
    customer: str | None  # the organisation's customer at the gateway, once it has one
    card: Card | None
    payment_method: str | None


def card_request(
    session: Session,
    *,
    org_id: int,
    card_number: str | None,
    expiry: str | None,
    payment_method: str | None = None,
    invoice: bool,
    actor: Actor,
    now: datetime,
) -> CardRequest | None:
    """Check a new payment method before the gateway sees it: a card to save, or None for pay-by-invoice."""
    get_org(session, org_id=org_id)
    require(actor, Permission.MANAGE_BILLING, org_id)
    given = [card_number is not None, payment_method is not None, invoice]
    if given.count(True) != 1 or (expiry is not None and card_number is None):
        raise BadInput(
            "give either a card (--card NUMBER --exp MM/YY; API: card, exp), a payment method made by the "
            "gateway's page (API: payment_method) or pay-by-invoice (--invoice; API: invoice)",
            code=ErrorCode.INVALID_PAYMENT_METHOD,
        )
    if invoice:
        return None
    card = None
    if card_number is not None:
        if expiry is None:
            raise BadInput(
                "missing expiry: expected the card's expiry as MM/YY (--exp; API: exp)", code=ErrorCode.INVALID_EXPIRY
            )
        card = parse_card(number=card_number, expiry=expiry, now=now)
    customer = session.scalar(
        select(PaymentMethod.customer)
        .where(PaymentMethod.org_id == org_id, PaymentMethod.customer.is_not(None))
        .limit(1)
    )
    return CardRequest(org_id=org_id, customer=customer, card=card, payment_method=payment_method)


def save_card(gateway: Gateway, request: CardRequest | None) -> SavedCard | None:
    """Have the gateway keep the card (outside any transaction, R32); None for pay-by-invoice."""
    if request is None:
        return None
    try:
        return gateway.save_card(
            org_id=request.org_id, customer=request.customer, card=request.card, payment_method=request.payment_method
        )
    except GatewayUnavailable:
        raise GatewayDown("the card gateway did not answer: nothing was saved; try again") from None


def add_payment_method(
    session: Session, *, org_id: int, card: SavedCard | None, actor: Actor, now: datetime
) -> PaymentMethod:
    """Add a card the gateway saved (see `card_request`), or pay-by-invoice (`card` None), to an organisation."""
    get_org(session, org_id=org_id)
    require(actor, Permission.MANAGE_BILLING, org_id)
    if card is None:
        method = PaymentMethod(org_id=org_id, kind="invoice", created_at=now)
    else:
        method = PaymentMethod(
            org_id=org_id,
            kind="card",
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            customer=card.customer,
            token=card.token,
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


def usable_cards_at(session: Session, *, org_id: int, at: datetime) -> list[PaymentMethod]:
    """The organisation's cards usable at `at`, newest first: the default, then its backups (R21)."""
    return list(
        session.scalars(
            select(PaymentMethod)
            .where(PaymentMethod.org_id == org_id, PaymentMethod.kind == "card", _usable_at(at))
            .order_by(PaymentMethod.id.desc())
        )
    )


def get_method(session: Session, *, org_id: int, method_id: int, lock: bool = False) -> PaymentMethod:
    """One of the organisation's payment methods in use, or NotFound (another organisation's too)."""
    query = select(PaymentMethod).where(
        PaymentMethod.id == method_id, PaymentMethod.org_id == org_id, PaymentMethod.removed_at.is_(None)
    )
    method = session.scalar(query.with_for_update() if lock else query)
    if method is None:
        raise NotFound(
            f"unknown payment method {method_id} of organisation {org_id}", code=ErrorCode.UNKNOWN_PAYMENT_METHOD
        )
    return method


def remove_payment_method(
    session: Session, *, org_id: int, method_id: int, renewing: bool, actor: Actor, now: datetime
) -> PaymentMethod:
    """Remove a payment method; not the last usable one while a subscription renews on it (`renewing`, which
    the caller has read with the organisation row locked, see `subscriptions.service.remove_payment_method`)."""
    require(actor, Permission.MANAGE_BILLING, org_id)
    method = get_method(session, org_id=org_id, method_id=method_id, lock=True)
    others = select(PaymentMethod.id).where(
        PaymentMethod.org_id == org_id, PaymentMethod.id != method_id, _usable_at(now)
    )
    if renewing and session.scalar(others.limit(1)) is None:
        raise Refused(
            f"payment method {method_id} is the last one a renewing subscription is paid with: add another first, "
            "or turn off recurring billing",
            code=ErrorCode.PAYMENT_METHOD_IN_USE,
        )
    before = events.snapshot(method)
    method.removed_at = now
    events.audit_change(
        session, actor=actor.label, action="payment_method.removed", row=method, org_id=org_id, before=before, at=now
    )
    return method


def payment_method_at(session: Session, *, org_id: int, at: datetime) -> bool:
    """Whether a usable payment method was on file at `at`."""
    return usable_method_at(session, org_id=org_id, at=at) is not None
