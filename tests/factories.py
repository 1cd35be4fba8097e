"""Small builders for database tests: a product, an organisation with admins and users, a card."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from seatwise.catalog import service as catalog
from seatwise.core.roles import OPERATOR, Actor, Role
from seatwise.organizations import service as organizations
from seatwise.payments import service as payments


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
        payments.add_payment_method(
            session,
            org_id=org.id,
            card_number="4242424242424242",
            expiry="12/30",
            invoice=False,
            actor=OPERATOR,
            now=now,
        )
    return World(org.id, sku, admins["global_admin"], admins["billing_admin"], admins["user_admin"], user_ids)
