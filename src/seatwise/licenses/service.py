"""Buying, removing, assigning and unassigning licences (R12, R13)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from seatwise import config
from seatwise.billing import charges, taxes
from seatwise.core.domain_events import SubscriptionDeleted, UserRemoved, UserRestored
from seatwise.core.errors import BadInput, ErrorCode, Refused
from seatwise.core.invoicing import LineKind
from seatwise.core.licenses import SeatChange, check_assign, check_seat_change
from seatwise.core.lifecycle import Lifecycle, Status
from seatwise.core.money import Money
from seatwise.core.proration import Proration, charge_for_remaining_days, credit_for_unused_days
from seatwise.core.roles import Actor, Permission, require
from seatwise.events import service as events
from seatwise.organizations.models import User
from seatwise.organizations.service import get_user
from seatwise.subscriptions import service as subscriptions
from seatwise.subscriptions.models import Assignment, Subscription


@dataclass(frozen=True, slots=True)
class LicenseChange:
    """A new seat total and what it charges (seats bought) or credits (seats removed) pro rata."""

    subscription: Subscription
    change: SeatChange
    proration: Proration | None
    vat: Money | None = None  # the prorated amount's VAT, as its invoice will carry it (R24)

    @property
    def with_vat(self) -> Money | None:
        """The prorated charge or credit with its VAT."""
        if self.proration is None:
            return None
        return self.proration.amount if self.vat is None else self.proration.amount + self.vat


def _plan(
    session: Session, *, sub: Subscription, state: Lifecycle, total: int, actor: Actor, now: datetime
) -> LicenseChange:
    product = subscriptions.product_of(session, sub)
    change = check_seat_change(
        state=state,
        policy=config.policy_for(product.policy),
        seats=sub.seats,
        new_total=total,
        assigned=subscriptions.assigned_count(session, sub_id=sub.id),
        max_seats=product.max_seats,
        is_operator=actor.is_operator,
        now=now,
    )
    if change.delta == 0:
        return LicenseChange(sub, change, None)
    price, period = subscriptions.unit_price(sub), state.current_period
    if change.delta > 0:
        proration = charge_for_remaining_days(unit_price=price, seats=change.delta, period=period, on=now)
    else:
        proration = credit_for_unused_days(unit_price=price, seats=-change.delta, period=period, on=now)
    kind = LineKind.SEATS_ADDED if change.delta > 0 else LineKind.SEATS_REMOVED
    vat = taxes.vat_on(session, org_id=sub.org_id, sub_id=sub.id, kind=kind, amount=proration.amount.amount, on=now)
    return LicenseChange(sub, change, proration, Money(vat, price.currency))


def preview_total(session: Session, *, sub_id: int, total: int, actor: Actor, now: datetime) -> LicenseChange:
    """What `set_total` would charge or credit now, without doing it: shown before an admin confirms."""
    sub = subscriptions.get_visible(session, sub_id=sub_id, actor=actor)
    require(actor, Permission.MANAGE_BILLING, sub.org_id)
    return _plan(
        session, sub=sub, state=subscriptions.state_at(session, sub=sub, now=now), total=total, actor=actor, now=now
    )


def set_total(session: Session, *, sub_id: int, total: int, actor: Actor, now: datetime) -> LicenseChange:
    """Buy or remove licences to reach `total`, prorated by day (R12, R15)."""
    sub = subscriptions.get_visible(session, sub_id=sub_id, actor=actor, lock=True)
    require(actor, Permission.MANAGE_BILLING, sub.org_id)
    subscriptions.catch_up(session, sub=sub, now=now)
    state = subscriptions.lifecycle_of(sub)
    plan = _plan(session, sub=sub, state=state, total=total, actor=actor, now=now)
    if plan.proration is None:
        return plan
    proration, period, added = plan.proration, state.current_period, plan.change.delta > 0
    line = charges.bill_proration(
        session,
        sub=sub,
        kind=LineKind.SEATS_ADDED if added else LineKind.SEATS_REMOVED,
        proration=proration,
        period=period,
        at=now,
        bill_on=period.end,
    )
    before = events.snapshot(sub)
    sub.seats = total
    sub.updated_at = now
    events.audit_change(
        session,
        actor=actor.label,
        action="licenses.changed",
        row=sub,
        org_id=sub.org_id,
        before=before,
        at=now,
        extra={"prorated": proration.amount.amount if added else -proration.amount.amount},
    )
    charges.credit_issued(session, charge=line, at=now)
    return plan


def _user_in_org(session: Session, *, user_id: int, org_id: int) -> User:
    user = get_user(session, user_id=user_id, lock=True)
    if user.org_id != org_id:
        raise BadInput(
            f"user {user_id} belongs to another organisation: expected a user of organisation {org_id}",
            code=ErrorCode.USER_OF_ANOTHER_ORG,
        )
    if user.removed_at is not None:
        raise Refused(f"user {user_id} is removed: restore them first", code=ErrorCode.USER_REMOVED)
    return user


def assign(session: Session, *, sub_id: int, user_id: int, actor: Actor, now: datetime) -> Assignment:
    """Give a user a licence; never more assigned than seats, even under concurrency (R13)."""
    sub = subscriptions.get_visible(session, sub_id=sub_id, actor=actor)
    require(actor, Permission.MANAGE_USERS, sub.org_id)
    # Row locks (FOR UPDATE on PostgreSQL; BEGIN IMMEDIATE already serialises SQLite), the
    # user's before the subscription's as everywhere, keep a removed user from getting a
    # licence and the count-then-insert below from racing another process.
    _user_in_org(session, user_id=user_id, org_id=sub.org_id)
    sub = subscriptions.get(session, sub_id=sub_id, lock=True)
    subscriptions.catch_up(session, sub=sub, now=now)
    existing = session.scalar(
        select(Assignment).where(Assignment.subscription_id == sub.id, Assignment.user_id == user_id)
    )
    if existing is not None:
        raise Refused(f"user {user_id} already has a licence of subscription {sub.id}", code=ErrorCode.ALREADY_ASSIGNED)
    check_assign(
        status=Status(sub.status), seats=sub.seats, assigned=subscriptions.assigned_count(session, sub_id=sub.id)
    )
    assignment = Assignment(subscription_id=sub.id, user_id=user_id, assigned_at=now)
    session.add(assignment)
    events.audit_change(
        session, actor=actor.label, action="license.assigned", row=assignment, org_id=sub.org_id, before=None, at=now
    )
    return assignment


def unassign(session: Session, *, sub_id: int, user_id: int, actor: Actor, now: datetime) -> None:
    """Take a licence back from a user; the seat stays paid for."""
    sub = subscriptions.get_visible(session, sub_id=sub_id, actor=actor, lock=True)
    require(actor, Permission.MANAGE_USERS, sub.org_id)
    subscriptions.catch_up(session, sub=sub, now=now)
    assignment = session.scalar(
        select(Assignment).where(Assignment.subscription_id == sub.id, Assignment.user_id == user_id)
    )
    if assignment is None:
        raise Refused(f"user {user_id} has no licence of subscription {sub.id}", code=ErrorCode.NOT_ASSIGNED)
    before = events.snapshot(assignment)
    session.delete(assignment)
    events.audit_entry(
        session,
        actor=actor.label,
        action="license.unassigned",
        entity="assignments",
        entity_id=assignment.id,
        org_id=sub.org_id,
        before=before,
        after=None,
        at=now,
    )


def assignments_of(session: Session, *, sub_id: int) -> list[Assignment]:
    """Licences held on a subscription, by user id."""
    return list(
        session.scalars(
            select(Assignment)
            .where(Assignment.subscription_id == sub_id, Assignment.suspended_at.is_(None))
            .order_by(Assignment.user_id)
        )
    )


def suspend_for_user(session: Session, event: UserRemoved) -> None:
    """A removed user's licences stop holding seats until the user is restored (R13)."""
    actor, now = event.actor, event.at
    for assignment in session.scalars(
        select(Assignment).where(Assignment.user_id == event.user_id, Assignment.suspended_at.is_(None))
    ):
        before = events.snapshot(assignment)
        assignment.suspended_at = now
        events.audit_change(
            session,
            actor=actor.label,
            action="license.suspended",
            row=assignment,
            org_id=event.org_id,
            before=before,
            at=now,
        )


def resume_for_user(session: Session, event: UserRestored) -> None:
    """Give a restored user back each licence that still has a free seat; drop the others (R13)."""
    actor, now = event.actor, event.at
    suspended = list(
        session.scalars(
            select(Assignment).where(Assignment.user_id == event.user_id, Assignment.suspended_at.is_not(None))
        )
    )
    for assignment in suspended:
        sub = subscriptions.get(session, sub_id=assignment.subscription_id, lock=True)
        subscriptions.catch_up(session, sub=sub, now=now)
        before = events.snapshot(assignment)
        try:
            check_assign(
                status=Status(sub.status),
                seats=sub.seats,
                assigned=subscriptions.assigned_count(session, sub_id=sub.id),
            )
            free = True
        except Refused:
            free = False
        if free:
            assignment.suspended_at = None
            events.audit_change(
                session,
                actor=actor.label,
                action="license.resumed",
                row=assignment,
                org_id=event.org_id,
                before=before,
                at=now,
            )
        else:
            session.delete(assignment)
            events.audit_entry(
                session,
                actor=actor.label,
                action="license.released",
                entity="assignments",
                entity_id=assignment.id,
                org_id=event.org_id,
                before=before,
                after=None,
                at=now,
            )


def release_all(session: Session, event: SubscriptionDeleted) -> None:
    """Free every licence of a deleted subscription."""
    rows = list(session.scalars(select(Assignment).where(Assignment.subscription_id == event.sub_id)))
    for assignment in rows:
        session.delete(assignment)
    if rows:
        events.audit_entry(
            session,
            actor=event.actor,
            action="licenses.released",
            entity="subscriptions",
            entity_id=event.sub_id,
            org_id=event.org_id,
            before={"assigned_user_ids": sorted(a.user_id for a in rows)},
            after=None,
            at=event.at,
        )
