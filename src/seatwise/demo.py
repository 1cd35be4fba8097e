"""Demo data: a catalogue, an English and a Dutch customer, and subscriptions in every state."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from seatwise import db
from seatwise.accounts import service as accounts
from seatwise.billing_run import jobs
from seatwise.catalog import service as catalog
from seatwise.catalog.models import Product
from seatwise.core.cards import parse_card
from seatwise.core.roles import OPERATOR
from seatwise.licenses import service as licenses
from seatwise.organizations import service as organizations
from seatwise.organizations.models import Organization, User
from seatwise.payments import service as payments
from seatwise.payments.gateway import Gateway, SavedCard
from seatwise.subscriptions import service as subscriptions
from seatwise.subscriptions.models import Subscription
from seatwise.tax import service as tax

PRODUCTS: list[dict[str, Any]] = [
    dict(
        sku="SW-BUSINESS", name="Seatwise Business", price="12.50", interval="monthly", max_seats=300, policy="standard"
    ),
    dict(
        sku="SW-ENTERPRISE",
        name="Seatwise Enterprise",
        price="396.00",
        interval="annual",
        max_seats=None,
        policy="standard",
    ),
    dict(
        sku="SW-COMMIT",
        name="Seatwise Business (commitment)",
        price="11.00",
        interval="monthly",
        max_seats=None,
        policy="window",
    ),
]
# Printed by `make run` and `seatwise demo seed`: a demo is for trying out, not for guarding.
PASSWORD = "seatwise-demo"
OPERATOR_EMAIL = "operator@seatwise.example"

CUSTOMERS: list[dict[str, Any]] = [
    dict(
        name="Contoso Ltd",
        locale="en",
        domain="contoso.example",
        users=40,
        admins=[
            ("global_admin", "admin", "Alex Wilber"),
            ("billing_admin", "billing", "Megan Bowen"),
            ("user_admin", "people", "Lee Gu"),
        ],
    ),
    dict(
        name="Fabrikam BV",
        locale="nl",
        domain="fabrikam.example",
        users=15,
        admins=[
            ("global_admin", "beheer", "Daan de Vries"),
            ("billing_admin", "facturen", "Sanne Jansen"),
            ("user_admin", "gebruikers", "Emma Bakker"),
        ],
    ),
]


# A VAT-registered Dutch vendor (R22); the numbers are valid by their checksums, not real.
VENDOR: dict[str, Any] = dict(
    name="Seatwise Demo B.V.",
    address_line="Keizersgracht 1",
    postcode="1015 CJ",
    city="Amsterdam",
    country="NL",
    vat_id="NL000099998B57",
    company_id="12345678",
    iban="NL91ABNA0417164300",
    oss=True,
    invoice_prefix="SW",
)


def seed(url: str, *, now: datetime, gateway: Gateway) -> dict[str, Any]:
    """Create the demo once; on a database that has it, change nothing and describe what is there.

    Its people first, then Contoso's card saved at the gateway (outside any transaction), then the
    subscriptions, then a billing run up to now; a seed cut short finishes what is missing."""
    with db.read_only(url) as session:
        contoso = session.scalar(select(Organization.id).where(Organization.name == CUSTOMERS[0]["name"]))
        done = contoso is not None and bool(payments.list_payment_methods(session, org_id=contoso))
    if contoso is None:
        with db.unit_of_work(url) as session:
            contoso = _create_people(session, now=now)
    if not done:
        card = gateway.save_card(
            org_id=contoso,
            customer=None,
            card=parse_card(number="4242424242424242", expiry="12/30", now=now),
            payment_method=None,
        )
        with db.unit_of_work(url) as session:
            _create_subscriptions(session, now=now, card=card)
        jobs.run_to_end(url, as_of=now, gateway=gateway)
    with db.read_only(url) as session:
        return _summary(session, seeded=not done)


def _ago(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)


def _create_people(session: Session, *, now: datetime) -> int:
    """The operator, the catalogue, the customers and their people; Contoso's id."""
    start = _ago(now, 200)
    accounts.add_operator(session, email=OPERATOR_EMAIL, name="Olivia Operator", password=PASSWORD, now=start)
    tax.set_vendor(session, **VENDOR, actor_label=OPERATOR.label, now=start)
    for product in PRODUCTS:
        catalog.add_product(session, currency="EUR", trial_days=30, now=start, **product)
    orgs = []
    for customer in CUSTOMERS:
        org = organizations.add_org(
            session, name=customer["name"], currency="EUR", locale=customer["locale"], now=start
        )
        orgs.append(org)
        for role, local, name in customer["admins"]:
            admin = organizations.add_user(
                session,
                org_id=org.id,
                email=f"{local}@{customer['domain']}",
                name=name,
                role=role,
                actor=OPERATOR,
                now=start,
            )
            session.flush()
            organizations.set_password(session, user_id=admin.id, password=PASSWORD, now=start)
        for n in range(1, customer["users"] + 1):
            organizations.add_user(
                session,
                org_id=org.id,
                email=f"user{n:02d}@{customer['domain']}",
                name=None,
                role="user",
                actor=OPERATOR,
                now=start,
            )
    session.flush()
    return orgs[0].id


def _create_subscriptions(session: Session, *, now: datetime, card: SavedCard) -> None:
    """Payment methods, and subscriptions in every state."""

    def ago(days: int) -> datetime:
        return _ago(now, days)

    start = ago(200)
    contoso, fabrikam = (
        session.scalars(select(Organization).where(Organization.name == customer["name"])).one()
        for customer in CUSTOMERS
    )
    users = [
        [u for u in organizations.list_users(session, org_id=org.id) if u.role == "user"] for org in (contoso, fabrikam)
    ]
    payments.add_payment_method(session, org_id=contoso.id, card=card, actor=OPERATOR, now=start)
    payments.add_payment_method(session, org_id=fabrikam.id, card=None, actor=OPERATOR, now=start)

    def assign(sub: Subscription, people: list[User], at: datetime) -> None:
        for user in people:
            licenses.assign(session, sub_id=sub.id, user_id=user.id, actor=OPERATOR, now=at)

    # Contoso: 30 of 40 licences assigned (too many to cancel online), 10 of 10 (can cancel), a trial.
    big = subscriptions.buy(session, org_id=contoso.id, sku="SW-BUSINESS", seats=40, actor=OPERATOR, now=ago(45))
    assign(big, users[0][:30], ago(45))
    small = subscriptions.buy(session, org_id=contoso.id, sku="SW-ENTERPRISE", seats=10, actor=OPERATOR, now=ago(2))
    assign(small, users[0][30:40], ago(2))
    trial = subscriptions.start_trial(session, org_id=contoso.id, sku="SW-COMMIT", seats=25, actor=OPERATOR, now=ago(5))
    assign(trial, users[0][:5], ago(5))

    # Fabrikam: a trial, one expired (recurring billing off), one disabled (cancelled), one deleted.
    subscriptions.start_trial(session, org_id=fabrikam.id, sku="SW-BUSINESS", seats=25, actor=OPERATOR, now=ago(10))
    lapsed = subscriptions.buy(session, org_id=fabrikam.id, sku="SW-COMMIT", seats=8, actor=OPERATOR, now=ago(40))
    assign(lapsed, users[1][:8], ago(40))
    subscriptions.set_recurring_billing(session, sub_id=lapsed.id, enabled=False, actor=OPERATOR, now=ago(35))
    canceled = subscriptions.buy(session, org_id=fabrikam.id, sku="SW-ENTERPRISE", seats=5, actor=OPERATOR, now=ago(20))
    subscriptions.cancel(session, sub_id=canceled.id, actor=OPERATOR, now=ago(10), reason="too_expensive")
    gone = subscriptions.buy(session, org_id=fabrikam.id, sku="SW-BUSINESS", seats=3, actor=OPERATOR, now=ago(130))
    subscriptions.cancel(session, sub_id=gone.id, actor=OPERATOR, now=ago(100), reason="no_longer_needed")


def _summary(session: Session, *, seeded: bool) -> dict[str, Any]:
    orgs = [o for o in organizations.list_orgs(session) if o.name in {c["name"] for c in CUSTOMERS}]
    return {
        "seeded": seeded,
        "products": [p.sku for p in session.scalars(select(Product).order_by(Product.id))],
        "organizations": [
            {
                "id": org.id,
                "name": org.name,
                "locale": org.locale,
                "admins": [
                    {"id": u.id, "email": u.email, "role": u.role}
                    for u in organizations.list_users(session, org_id=org.id)
                    if u.role != "user"
                ],
                "subscriptions": [
                    {
                        "id": s.id,
                        "sku": subscriptions.product_of(session, s).sku,
                        "status": s.status,
                        "assigned": subscriptions.assigned_count(session, sub_id=s.id),
                        "seats": s.seats,
                    }
                    for s in subscriptions.list_for_org(session, org_id=org.id)
                ],
            }
            for org in orgs
        ],
    }


def describe(summary: dict[str, Any]) -> str:
    """The summary for people: who can sign in as what, and which subscription is in which state."""
    lines = [
        "demo data created" if summary["seeded"] else "demo data already present; nothing changed",
        f"sign in with password {PASSWORD!r}: as an admin below to the admin center (/), "
        f"as {OPERATOR_EMAIL} to the operator console (/operator)",
    ]
    for org in summary["organizations"]:
        lines.append(f"{org['name']} (organisation {org['id']}, {org['locale']})")
        lines += [f"  admin {a['email']} (user {a['id']}, {a['role']})" for a in org["admins"]]
        lines += [
            f"  subscription {s['id']}: {s['sku']} {s['status']}, {s['assigned']}/{s['seats']} assigned"
            for s in org["subscriptions"]
        ]
    return "\n".join(lines)
