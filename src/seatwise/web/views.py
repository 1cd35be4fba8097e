"""What the admin center pages show, read from the services in a few queries a page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from seatwise.billing.models import Charge, CreditNote, Invoice
from seatwise.catalog.models import Product
from seatwise.core.invoicing import InvoiceStatus
from seatwise.core.licenses import ASSIGNABLE, RESTORE_DAYS
from seatwise.core.lifecycle import Lifecycle, Status, deletion_date
from seatwise.core.money import Money
from seatwise.i18n import N_
from seatwise.organizations.models import User
from seatwise.payments.service import payment_method_at
from seatwise.subscriptions import service as subscriptions
from seatwise.subscriptions.models import Assignment, Subscription


@dataclass(frozen=True, slots=True)
class Row:
    """One subscription as Billing > Your products shows it."""

    sub: Subscription
    product: Product
    state: Lifecycle
    assigned: int
    price: Money

    @property
    def key_date(self) -> tuple[str, datetime | None]:
        """The one date that matters next, with what happens on it."""
        state = self.state
        if state.status is Status.TRIAL:
            return N_("Trial ends"), state.trial_end
        if state.status is Status.ACTIVE:
            return (N_("Next billing date") if state.recurring_billing else N_("Ends on")), state.current_period.end
        if state.status is Status.DELETED:
            return N_("Deleted"), state.state_until
        return N_("Deleted on"), deletion_date(state)


def states_at(session: Session, subs: list[Subscription], *, now: datetime) -> dict[int, Lifecycle]:
    """Each subscription's state at `now`; only those with a transition due are advanced."""
    return {
        s.id: subscriptions.state_at(session, sub=s, now=now)
        if s.next_event_at and s.next_event_at <= now
        else subscriptions.lifecycle_of(s)
        for s in subs
    }


PRODUCTS_PAGE = 100


@dataclass(frozen=True, slots=True)
class ProductPage:
    """One page of Billing > Your products."""

    rows: list[Row]
    page: int
    pages: int


def _rows(session: Session, subs: list[Subscription], *, now: datetime) -> list[Row]:
    products = {p.id: p for p in session.scalars(select(Product))}
    counts = subscriptions.assigned_counts(session, sub_ids=[s.id for s in subs])
    states = states_at(session, subs, now=now)
    return [Row(s, products[s.product_id], states[s.id], counts[s.id], subscriptions.unit_price(s)) for s in subs]


def product_rows(session: Session, *, org_id: int, now: datetime, page: int = 1) -> ProductPage:
    """One page of the organisation's subscriptions, 100 a page, deleted ones last."""
    where = Subscription.org_id == org_id
    total = session.execute(select(func.count()).select_from(Subscription).where(where)).scalar_one()
    pages = max(1, -(-total // PRODUCTS_PAGE))
    page = min(page, pages)
    subs = list(
        session.scalars(
            select(Subscription)
            .where(where)
            .order_by(Subscription.status == Status.DELETED, Subscription.id)
            .offset((page - 1) * PRODUCTS_PAGE)
            .limit(PRODUCTS_PAGE)
        )
    )
    return ProductPage(_rows(session, subs, now=now), page, pages)


def _rows_that_may_need_attention(session: Session, *, org_id: int, now: datetime) -> list[Row]:
    # Trials, lapsed subscriptions and those with a transition due; an active one between its
    # renewals needs nothing, and an organisation may have a thousand of them.
    subs = list(
        session.scalars(
            select(Subscription)
            .where(
                Subscription.org_id == org_id,
                Subscription.status.in_((Status.TRIAL, Status.EXPIRED, Status.DISABLED))
                | (Subscription.next_event_at <= now),
            )
            .order_by(Subscription.id)
        )
    )
    return _rows(session, subs, now=now)


@dataclass(frozen=True, slots=True)
class Choice:
    """A subscription whose licences can be assigned, as the users page offers it."""

    id: int
    product_name: str
    seats: int
    assigned: int


def assignable(session: Session, *, org_id: int) -> list[Choice]:
    """Subscriptions on which licences can be assigned (trial, active, expired), with their counts, in one query."""
    held = (Assignment.subscription_id == Subscription.id) & Assignment.suspended_at.is_(None)
    return [
        Choice(*row)
        for row in session.execute(
            select(Subscription.id, Product.name, Subscription.seats, func.count(Assignment.id))
            .join(Product, Product.id == Subscription.product_id)
            .outerjoin(Assignment, held)
            .where(Subscription.org_id == org_id, Subscription.status.in_(ASSIGNABLE))
            .group_by(Subscription.id, Product.name, Subscription.seats)
            .order_by(Subscription.id)
        )
    ]


def row(session: Session, *, sub: Subscription, now: datetime) -> Row:
    """One subscription as its details page shows it."""
    return Row(
        sub,
        subscriptions.product_of(session, sub),
        subscriptions.state_at(session, sub=sub, now=now),
        subscriptions.assigned_count(session, sub_id=sub.id),
        subscriptions.unit_price(sub),
    )


def timeline(row: Row) -> list[tuple[str, datetime]]:
    """The subscription's key dates, in order: started, trial end, period, cancellation, deletion."""
    sub, state = row.sub, row.state
    dates = [(N_("Started"), sub.created_at)]
    if sub.trial_end is not None:
        dates.append((N_("Trial ends") if state.status is Status.TRIAL else N_("Trial ended"), sub.trial_end))
    if state.status in (Status.ACTIVE, Status.EXPIRED, Status.DISABLED) and not (
        sub.started_as_trial and state.current_period.start < (sub.trial_end or state.current_period.start)
    ):
        dates.append((N_("Current period starts"), state.current_period.start))
    if state.status is Status.ACTIVE:
        dates.append((N_("Next billing date") if state.recurring_billing else N_("Ends on"), state.current_period.end))
    if sub.canceled_at is not None:
        dates.append((N_("Cancelled"), sub.canceled_at))
    if state.status is Status.EXPIRED and state.state_until:
        dates.append((N_("Disabled on"), state.state_until))
    deleted_on = deletion_date(state) if state.status is not Status.DELETED else state.state_until
    if deleted_on is not None:
        dates.append((N_("Deleted on") if state.status is not Status.DELETED else N_("Deleted"), deleted_on))
    return sorted(dates, key=lambda item: item[1])


@dataclass(frozen=True, slots=True)
class Credit:
    """A prorated credit not yet settled, and the billing date that returns it (R16)."""

    subscription_id: int
    product_name: str
    amount: Money
    by: datetime


def pending_credits(session: Session, *, org_id: int, sub_id: int | None = None) -> list[Credit]:
    """Credits not yet settled: what a credit note still holds, with VAT, and the day it is settled; or a credit
    line waiting for its invoice (R16)."""
    query = (
        select(Charge, Product.name, CreditNote)
        .join(Subscription, Subscription.id == Charge.subscription_id)
        .join(Product, Product.id == Subscription.product_id)
        .outerjoin(CreditNote, CreditNote.id == Charge.credit_note_id)
        .where(Charge.org_id == org_id, Charge.invoice_id.is_(None), Charge.amount < 0)
        .where(Charge.credit_note_id.is_(None) | CreditNote.settle_on.is_not(None))
        .order_by(Charge.bill_on, Charge.id)
    )
    if sub_id is not None:
        query = query.where(Charge.subscription_id == sub_id)
    # A credit note is settled on its line's billing date; until then it holds what invoices have not taken.
    return [
        Credit(
            c.subscription_id,
            name,
            Money(-c.amount if note is None else note.total - note.spent - note.refunded, c.currency),
            c.bill_on,
        )
        for c, name, note in session.execute(query)
    ]


@dataclass(frozen=True, slots=True)
class Attention:
    """Something on the home page an admin should look at, with a link to act on it."""

    kind: str  # trial_ending | unpaid_invoice | credit_coming | deletion_coming
    text: str
    params: dict
    href: str
    urgent: bool = False


def attention(session: Session, *, org_id: int, now: datetime) -> list[Attention]:
    """Trials ending, unpaid invoices, credits coming back, subscriptions about to be deleted."""
    items: list[Attention] = []
    converts = payment_method_at(session, org_id=org_id, at=now)
    for r in _rows_that_may_need_attention(session, org_id=org_id, now=now):
        href = f"/billing/subscriptions/{r.sub.id}"
        if r.state.status is Status.TRIAL:
            text = (
                N_("Your trial of {product} becomes a paid subscription on {date}.")
                if r.state.recurring_billing and converts
                else N_("Your trial of {product} ends on {date}. Add a payment method to keep it.")
            )
            assert r.state.trial_end is not None  # a trial always has its end
            items.append(
                Attention(
                    "trial_ending",
                    text,
                    {"product": r.product.name, "date": r.state.trial_end},
                    href,
                    urgent=(r.state.trial_end - now).days < 7,
                )
            )
        elif r.state.status in (Status.EXPIRED, Status.DISABLED):
            deleted_on = deletion_date(r.state)
            assert deleted_on is not None  # an expired or disabled subscription always has one
            items.append(
                Attention(
                    "deletion_coming",
                    N_("{product} will be deleted on {date}. Reactivate it to keep it."),
                    {"product": r.product.name, "date": deleted_on},
                    href,
                    urgent=(deleted_on - now).days < 14,
                )
            )
    for invoice in session.scalars(
        select(Invoice).where(Invoice.org_id == org_id, Invoice.status != InvoiceStatus.PAID).order_by(Invoice.due_at)
    ):
        owed = Money(invoice.amount_due - invoice.amount_paid, invoice.currency)
        items.append(
            Attention(
                "unpaid_invoice",
                N_("Invoice {number} of {amount} is due on {date}."),
                {"number": invoice.number, "amount": owed, "date": invoice.due_at},
                f"/billing/invoices/{invoice.id}",
                urgent=invoice.due_at < now,
            )
        )
    for credit in pending_credits(session, org_id=org_id):
        items.append(
            Attention(
                "credit_coming",
                N_("A credit of {amount} for {product} comes back by {date}."),
                {"amount": credit.amount, "product": credit.product_name, "date": credit.by},
                f"/billing/subscriptions/{credit.subscription_id}",
            )
        )
    return sorted(items, key=lambda i: (not i.urgent, i.kind))


@dataclass(frozen=True, slots=True)
class UserPage:
    """One page of users with the licences each holds."""

    users: list[User]
    licenses: dict[int, list[tuple[int, str]]]  # user id -> (subscription id, product name)
    total: int
    page: int
    pages: int


PAGE_SIZE = 50


def user_page(
    session: Session,
    *,
    org_id: int,
    page: int,
    now: datetime,
    query: str = "",
    sub_id: int | None = None,
    removed: bool = False,
) -> UserPage:
    """Active users of the organisation, or those removed in the last 30 days, 50 a page, searched by name or e-mail."""
    restorable = User.removed_at > now - timedelta(days=RESTORE_DAYS)
    where = [User.org_id == org_id, restorable if removed else User.removed_at.is_(None)]
    if query:
        pattern = f"%{query.lower()}%"
        where.append(func.lower(User.name).like(pattern) | User.email.like(pattern))
    if sub_id is not None:
        where.append(
            User.id.in_(
                select(Assignment.user_id).where(
                    Assignment.subscription_id == sub_id, Assignment.suspended_at.is_(None)
                )
            )
        )
    total = session.execute(select(func.count()).select_from(User).where(*where)).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    users = list(
        session.scalars(
            select(User).where(*where).order_by(User.name, User.id).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
        )
    )
    licenses: dict[int, list[tuple[int, str]]] = {u.id: [] for u in users}
    if users:
        for user_id, sid, name in session.execute(
            select(Assignment.user_id, Assignment.subscription_id, Product.name)
            .join(Subscription, Subscription.id == Assignment.subscription_id)
            .join(Product, Product.id == Subscription.product_id)
            .where(Assignment.user_id.in_(list(licenses)), Assignment.suspended_at.is_(None))
            .order_by(Assignment.subscription_id)
        ):
            licenses[user_id].append((sid, name))
    return UserPage(users, licenses, total, page, pages)
