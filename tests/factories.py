"""Small builders for database tests: a product, an organisation with admins and users, a card."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from seatwise.billing_run import jobs
from seatwise.billing_run.service import RunSummary
from seatwise.catalog import service as catalog
from seatwise.core.roles import OPERATOR, Actor, Role
from seatwise.organizations import service as organizations
from seatwise.payments import service as payments
from seatwise.payments.gateways import gateway_for
from seatwise.payments.models import PaymentMethod


def run_billing(target, *, as_of: datetime) -> RunSummary:
    """The billing run up to `as_of` as a worker does it (one commit per step, cards charged between them,
    R32), on the database of `target`: a URL, or the `uow` fixture."""
    return jobs.run_to_end(target if isinstance(target, str) else target.url, as_of=as_of)


def add_method(
    session: Session,
    *,
    org_id: int,
    card_number: str | None = None,
    expiry: str | None = None,
    invoice: bool = False,
    actor: Actor,
    now: datetime,
) -> PaymentMethod:
    """A card saved at the simulated gateway (which keeps cards without calling anything), or pay-by-invoice."""
    request = payments.card_request(
        session, org_id=org_id, card_number=card_number, expiry=expiry, invoice=invoice, actor=actor, now=now
    )
    gateway = gateway_for(session.get_bind().url.render_as_string(hide_password=False))
    return payments.add_payment_method(
        session, org_id=org_id, card=payments.save_card(gateway, request), actor=actor, now=now
    )


@dataclass
class World:
    org_id: int
    sku: str
    global_admin: Actor
    billing_admin: Actor
    user_admin: Actor
    user_ids: list[int]


def actor_of(user) -> Actor:
    return Actor(role=Role(user.role), org_id=user.org_id, user_id=user.id)


def world(
    session: Session,
    *,
    now: datetime,
    users: int = 30,
    price: str = "12.50",
    currency: str = "EUR",
    period: str = "monthly",
    policy: str = "standard",
    max_seats: int | None = None,
    trial_days: int = 30,
    card: bool = True,
    name: str = "Contoso",
    sku: str = "BIZ",
    locale: str = "en",
) -> World:
    """A product and an organisation with one admin of each kind and `users` plain users."""
    catalog.add_product(
        session,
        sku=sku,
        name=f"{sku} product",
        price=price,
        currency=currency,
        interval=period,
        trial_days=trial_days,
        max_seats=max_seats,
        policy=policy,
        now=now,
    )
    org = organizations.add_org(session, name=name, currency=currency, locale=locale, now=now)
    domain = f"{name.lower()}.example"
    admins = {
        role: actor_of(
            organizations.add_user(
                session, org_id=org.id, email=f"{role}@{domain}", name=None, role=role, actor=OPERATOR, now=now
            )
        )
        for role in ("global_admin", "billing_admin", "user_admin")
    }
    user_ids = [
        organizations.add_user(
            session, org_id=org.id, email=f"u{n}@{domain}", name=None, role="user", actor=OPERATOR, now=now
        ).id
        for n in range(users)
    ]
    if card:
        add_method(session, org_id=org.id, card_number="4242424242424242", expiry="12/30", actor=OPERATOR, now=now)
    return World(org.id, sku, admins["global_admin"], admins["billing_admin"], admins["user_admin"], user_ids)
