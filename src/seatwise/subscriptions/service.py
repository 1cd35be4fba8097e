"""Subscriptions: trials, purchases, cancellation, recurring billing and reactivation (R1–R11)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from seatwise import bus, config
from seatwise.billing import charges, taxes
from seatwise.billing import service as billing
from seatwise.billing.models import Charge
from seatwise.catalog.models import Product
from seatwise.catalog.service import get_by_sku
from seatwise.core import lifecycle
from seatwise.core.cancellation import CANCEL_REASONS, CancellationDecision, decide_cancellation
from seatwise.core.domain_events import PaymentRecorded, SubscriptionDeleted
from seatwise.core.errors import BadInput, ErrorCode, NotFound, Refused
from seatwise.core.invoicing import LineKind
from seatwise.core.licenses import check_seat_count
from seatwise.core.lifecycle import Event, Lifecycle, Status, Transition
from seatwise.core.money import Money
from seatwise.core.periods import Interval, Period, add_days, start_of_day
from seatwise.core.proration import Proration, charge_for_remaining_days, credit_for_unused_days
from seatwise.core.purchase import check_new_subscription, check_trial, require_payment_method
from seatwise.core.roles import SYSTEM_BILLING_RUN, Actor, Permission, can_see, may, require
from seatwise.db import get_existing, load, page
from seatwise.events import service as events
from seatwise.organizations.models import Organization
from seatwise.organizations.service import get_org
from seatwise.payments import service as payments
from seatwise.payments.service import payment_method_at
from seatwise.subscriptions.models import Assignment, Subscription


def lifecycle_of(sub: Subscription) -> Lifecycle:
    """The core view of a subscription row."""
    return Lifecycle(
        status=Status(sub.status),
        reason=lifecycle.Reason(sub.status_reason) if sub.status_reason else None,
        state_until=sub.state_until,
        interval=Interval(sub.interval),
        anchor=sub.anchor,
        period_index=sub.period_index,
        trial_end=sub.trial_end,
        recurring_billing=sub.recurring_billing,
    )


def apply_lifecycle(sub: Subscription, state: Lifecycle, *, now: datetime) -> None:
    """Write a core state back onto the row, with the columns derived from it."""
    period = state.current_period
    sub.status = state.status.value
    sub.status_reason = state.reason.value if state.reason else None
    sub.state_until = state.state_until
    sub.interval = state.interval.value
    sub.anchor = state.anchor
    sub.period_index = state.period_index
    sub.current_period_start = period.start
    sub.current_period_end = period.end
    sub.trial_end = state.trial_end
    sub.recurring_billing = state.recurring_billing
    sub.next_event_at = state.next_due
    sub.updated_at = now


def unit_price(sub: Subscription) -> Money:
    """The price of one licence for one period, fixed when the subscription started."""
    return Money(sub.unit_price, sub.currency)


def catch_up(session: Session, *, sub: Subscription, now: datetime) -> list[Transition]:
    """Perform every transition due up to `now` (R19), so that an action sees the present state.

    The billing run does the same for every subscription; an action between two runs must not
    act on a period that has already ended.
    """
    if now < sub.updated_at:
        raise BadInput(
            f"the time {now.isoformat()} is before subscription {sub.id} last changed "
            f"({sub.updated_at.isoformat()}): expected a later time",
            code=ErrorCode.CLOCK_BEFORE_LAST_CHANGE,
        )
    steps = lifecycle.advance(lifecycle_of(sub), as_of=now, payment_method_at=_payment_method_of(session, sub))
    for step in steps:
        before = events.snapshot(sub)
        apply_lifecycle(sub, step.after, now=step.at)
        if step.event in (Event.CONVERTED, Event.RENEWED):
            _bill_period(session, sub=sub, at=step.at)
        if step.after.status is Status.DELETED:
            bus.record(
                session, SubscriptionDeleted(sub_id=sub.id, org_id=sub.org_id, actor=SYSTEM_BILLING_RUN, at=step.at)
            )
        events.audit_change(
            session,
            actor=SYSTEM_BILLING_RUN,
            action=f"subscription.{step.event.value}",
            row=sub,
            org_id=sub.org_id,
            before=before,
            at=step.at,
        )
    return steps


def _bill_period(session: Session, *, sub: Subscription, at: datetime) -> None:
    charges.bill_period(
        session, sub=sub, period=lifecycle_of(sub).current_period, product_name=product_of(session, sub).name, at=at
    )


def _payment_method_of(session: Session, sub: Subscription) -> Callable[[datetime], bool]:
    return lambda at: payment_method_at(session, org_id=sub.org_id, at=at)


def state_at(session: Session, *, sub: Subscription, now: datetime) -> Lifecycle:
    """Where the subscription stands at `now`, counting transitions not yet performed; writes nothing."""
    state = lifecycle_of(sub)
    steps = lifecycle.advance(state, as_of=now, payment_method_at=_payment_method_of(session, sub))
    return steps[-1].after if steps else state


def get(session: Session, *, sub_id: int, lock: bool = False) -> Subscription:
    """The subscription with this id (row-locked for an update when `lock`), or NotFound."""
    sub = load(session, Subscription, sub_id, lock=lock)
    if sub is None:
        raise NotFound(f"unknown subscription {sub_id}", code=ErrorCode.UNKNOWN_SUBSCRIPTION)
    return sub


def get_visible(session: Session, *, sub_id: int, actor: Actor, lock: bool = False) -> Subscription:
    """A subscription the actor may see: another organisation's answers as a missing one does."""
    sub = get(session, sub_id=sub_id, lock=lock)
    if not can_see(actor, sub.org_id):
        raise NotFound(f"unknown subscription {sub_id}", code=ErrorCode.UNKNOWN_SUBSCRIPTION)
    return sub


def list_for_org(
    session: Session, *, org_id: int, after: int | None = None, limit: int | None = None
) -> list[Subscription]:
    """An organisation's subscriptions, oldest first (after the id `after`, at most `limit`)."""
    get_org(session, org_id=org_id)
    return list(
        session.scalars(
            page(select(Subscription).where(Subscription.org_id == org_id), Subscription.id, after=after, limit=limit)
        )
    )


def list_all(session: Session, *, after: int | None = None, limit: int | None = None) -> list[Subscription]:
    """Every subscription, oldest first (after the id `after`, at most `limit`)."""
    return list(session.scalars(page(select(Subscription), Subscription.id, after=after, limit=limit)))


def assigned_count(session: Session, *, sub_id: int) -> int:
    """Licences of the subscription held by users (suspended ones hold no seat)."""
    return session.execute(
        select(func.count())
        .select_from(Assignment)
        .where(Assignment.subscription_id == sub_id, Assignment.suspended_at.is_(None))
    ).scalar_one()


def assigned_counts(session: Session, *, sub_ids: list[int]) -> dict[int, int]:
    """Assigned licences for many subscriptions in one query."""
    if not sub_ids:
        return {}
    rows = session.execute(
        select(Assignment.subscription_id, func.count())
        .where(Assignment.subscription_id.in_(sub_ids), Assignment.suspended_at.is_(None))
        .group_by(Assignment.subscription_id)
    )
    counts = dict.fromkeys(sub_ids, 0)
    for sub_id, n in rows:
        counts[sub_id] = n
    return counts


def product_of(session: Session, sub: Subscription) -> Product:
    """The product a subscription is for."""
    return get_existing(session, Product, sub.product_id)


def _check_new(session: Session, *, org_id: int, sku: str, seats: int, actor: Actor) -> Product:
    org = get_org(session, org_id=org_id)
    require(actor, Permission.MANAGE_BILLING, org_id)
    product = get_by_sku(session, sku=sku)
    check_new_subscription(
        sku=product.sku,
        seats=check_seat_count(seats),
        max_seats=product.max_seats,
        product_currency=product.currency,
        org_currency=org.currency,
    )
    return product


def _new(*, org_id: int, product: Product, seats: int, state: Lifecycle, now: datetime) -> Subscription:
    sub = Subscription(
        org_id=org_id,
        product_id=product.id,
        seats=seats,
        unit_price=product.unit_price,
        currency=product.currency,
        started_as_trial=state.status is Status.TRIAL,
        created_at=now,
    )
    apply_lifecycle(sub, state, now=now)
    return sub


def start_trial(session: Session, *, org_id: int, sku: str, seats: int, actor: Actor, now: datetime) -> Subscription:
    """Start a trial of a product: fixed seats for its trial days (R1); one trial per product."""
    product = _check_new(session, org_id=org_id, sku=sku, seats=seats, actor=actor)
    earlier = session.scalar(
        select(Subscription.id).where(
            Subscription.org_id == org_id, Subscription.product_id == product.id, Subscription.started_as_trial
        )
    )
    check_trial(sku=product.sku, trial_days=product.trial_days, earlier_trial_id=earlier)
    state = lifecycle.start_trial(now=now, interval=Interval(product.interval), trial_days=product.trial_days)
    sub = _new(org_id=org_id, product=product, seats=seats, state=state, now=now)
    session.add(sub)
    events.audit_change(
        session, actor=actor.label, action="subscription.trial_started", row=sub, org_id=org_id, before=None, at=now
    )
    return sub


def buy(session: Session, *, org_id: int, sku: str, seats: int, actor: Actor, now: datetime) -> Subscription:
    """Buy a product outright: active from today, billed in advance per period (R3)."""
    product = _check_new(session, org_id=org_id, sku=sku, seats=seats, actor=actor)
    require_payment_method(on_file=payment_method_at(session, org_id=org_id, at=now), action="buying")
    state = lifecycle.start_paid(now=now, interval=Interval(product.interval))
    sub = _new(org_id=org_id, product=product, seats=seats, state=state, now=now)
    session.add(sub)
    session.flush()
    _bill_period(session, sub=sub, at=now)
    events.audit_change(
        session, actor=actor.label, action="subscription.started", row=sub, org_id=org_id, before=None, at=now
    )
    return sub


def cancellation_decision(session: Session, *, sub: Subscription, actor: Actor, now: datetime) -> CancellationDecision:
    """The decision of R10 for this subscription, actor and moment; preview and cancel both use it."""
    product = product_of(session, sub)
    decision = decide_cancellation(
        state=state_at(session, sub=sub, now=now),
        policy=config.policy_for(product.policy),
        seats=sub.seats,
        assigned=assigned_count(session, sub_id=sub.id),
        unit_price=unit_price(sub),
        has_payment_method=payment_method_at(session, org_id=sub.org_id, at=now),
        may_cancel=may(actor, Permission.MANAGE_BILLING, sub.org_id),
        is_operator=actor.is_operator,
        now=now,
    )
    if not decision.credit.amount:
        return decision
    vat = taxes.vat_on(
        session, org_id=sub.org_id, sub_id=sub.id, kind=LineKind.CANCELLATION, amount=decision.credit.amount, on=now
    )
    return replace(decision, credit_vat=Money(vat, decision.credit.currency))


def cancel(
    session: Session,
    *,
    sub_id: int,
    actor: Actor,
    now: datetime,
    reason: str | None = None,
    comment: str | None = None,
) -> tuple[Subscription, CancellationDecision]:
    """Cancel if the decision allows it (R5, R8); otherwise raise Refused carrying the decision."""
    if reason is not None and reason not in CANCEL_REASONS:
        raise BadInput(
            f"invalid reason {reason!r}: expected one of {', '.join(CANCEL_REASONS)}", code=ErrorCode.INVALID_REASON
        )
    if comment is not None and len(comment) > 2000:
        raise BadInput("comment too long: expected at most 2,000 characters", code=ErrorCode.INVALID_COMMENT)
    sub = get_visible(session, sub_id=sub_id, actor=actor, lock=True)
    catch_up(session, sub=sub, now=now)
    decision = cancellation_decision(session, sub=sub, actor=actor, now=now)
    if not decision.allowed:
        raise Refused(f"cancellation refused: {decision.code}", code=ErrorCode(decision.code.value), detail=decision)
    before = events.snapshot(sub)
    period = lifecycle_of(sub).current_period
    credit = credit_for_unused_days(unit_price=unit_price(sub), seats=sub.seats, period=period, on=now)
    line = charges.bill_proration(
        session, sub=sub, kind=LineKind.CANCELLATION, proration=credit, period=period, at=now, bill_on=period.end
    )
    apply_lifecycle(sub, lifecycle.cancel(lifecycle_of(sub), now=now), now=now)
    sub.canceled_at = now
    sub.cancel_reason = reason
    sub.cancel_comment = comment
    events.audit_change(
        session,
        actor=actor.label,
        action="subscription.canceled",
        row=sub,
        org_id=sub.org_id,
        before=before,
        at=now,
        extra={"credit": decision.credit.amount},
    )
    charges.credit_issued(session, charge=line, at=now)
    return sub, decision


def set_recurring_billing(session: Session, *, sub_id: int, enabled: bool, actor: Actor, now: datetime) -> Subscription:
    """Turn recurring billing on or off; off lets the subscription expire at period end (R4, R7)."""
    sub = get_visible(session, sub_id=sub_id, actor=actor, lock=True)
    require(actor, Permission.MANAGE_BILLING, sub.org_id)
    catch_up(session, sub=sub, now=now)
    before = events.snapshot(sub)
    apply_lifecycle(sub, lifecycle.set_recurring_billing(lifecycle_of(sub), enabled=enabled), now=now)
    events.audit_change(
        session,
        actor=actor.label,
        action=f"subscription.recurring_billing_{'on' if enabled else 'off'}",
        row=sub,
        org_id=sub.org_id,
        before=before,
        at=now,
    )
    return sub


def reactivate(session: Session, *, sub_id: int, actor: Actor, now: datetime) -> tuple[Subscription, Proration]:
    """Reactivate an expired or disabled subscription (R6); returns it with what it costs now."""
    sub = get_visible(session, sub_id=sub_id, actor=actor, lock=True)
    require(actor, Permission.MANAGE_BILLING, sub.org_id)
    catch_up(session, sub=sub, now=now)
    lifecycle.reactivate(lifecycle_of(sub), now=now)  # refuses what cannot be reactivated, before anything else
    require_payment_method(on_file=payment_method_at(session, org_id=sub.org_id, at=now), action="reactivating")
    if billing.long_overdue(session, sub_id=sub.id, org_id=sub.org_id, now=now):
        raise Refused(
            "an invoice of this subscription is unpaid past its dunning period: pay it first, "
            "which reactivates the subscription",
            code=ErrorCode.UNPAID_INVOICE,
        )
    return sub, _reactivate(session, sub=sub, actor_label=actor.label, now=now)


def _reactivate(session: Session, *, sub: Subscription, actor_label: str, now: datetime) -> Proration:
    was_expired = sub.status == Status.EXPIRED
    state = lifecycle.reactivate(lifecycle_of(sub), now=now)
    period = state.current_period
    # A period already invoiced whole (non-payment struck after its renewal) is not charged again.
    on = (
        period.end
        if charges.period_billed(session, sub_id=sub.id, anchor=state.anchor, index=state.period_index)
        and sub.canceled_at is None
        else _first_unpaid_day(sub, period, now)
    )
    charge = charge_for_remaining_days(unit_price=unit_price(sub), seats=sub.seats, period=period, on=on)
    before = events.snapshot(sub)
    apply_lifecycle(sub, state, now=now)
    sub.canceled_at = sub.cancel_reason = sub.cancel_comment = None
    if was_expired:  # a new period from today, billed whole (R6)
        _bill_period(session, sub=sub, at=now)
    else:
        charges.bill_proration(
            session,
            sub=sub,
            kind=LineKind.REACTIVATION,
            proration=charge,
            period=period,
            at=now,
            bill_on=start_of_day(now),
        )
    events.audit_change(
        session,
        actor=actor_label,
        action="subscription.reactivated",
        row=sub,
        org_id=sub.org_id,
        before=before,
        at=now,
        extra={"charge": charge.amount.amount},
    )
    return charge


def disable_for_non_payment(session: Session, *, sub: Subscription, at: datetime) -> None:
    """Disable a subscription whose invoice stayed unpaid past the dunning period (R21).

    An admin may have acted on it after that moment and before the run came: then it is disabled
    as of that action, for time does not run backwards.
    """
    at = max(at, sub.updated_at)
    catch_up(session, sub=sub, now=at)
    if sub.status not in (Status.ACTIVE, Status.EXPIRED):
        return
    before = events.snapshot(sub)
    apply_lifecycle(sub, lifecycle.disable_for_non_payment(lifecycle_of(sub), at=at), now=at)
    events.audit_change(
        session,
        actor=SYSTEM_BILLING_RUN,
        action="subscription.disabled",
        row=sub,
        org_id=sub.org_id,
        before=before,
        at=at,
    )


def billed_by(session: Session, *, invoice_id: int, lock: bool = False) -> list[Subscription]:
    """The subscriptions an invoice bills."""
    ids = select(Charge.subscription_id).where(Charge.invoice_id == invoice_id)
    query = select(Subscription).where(Subscription.id.in_(ids)).order_by(Subscription.id)
    if lock:
        query = query.with_for_update()
    return list(session.scalars(query))


def reactivate_after_payment(session: Session, *, sub: Subscription, now: datetime) -> None:
    """Paying the invoice that disabled a subscription brings it back (R21), keeping its billing date (R6).

    A card charge the billing run made for an earlier moment may be answered after an admin acted on the
    subscription: then it counts as of that action, for time does not run backwards."""
    now = max(now, sub.updated_at)
    catch_up(session, sub=sub, now=now)
    if (
        sub.status == Status.DISABLED
        and sub.status_reason == lifecycle.Reason.NON_PAYMENT
        and not billing.long_overdue(session, sub_id=sub.id, org_id=sub.org_id, now=now)
    ):
        _reactivate(session, sub=sub, actor_label=SYSTEM_BILLING_RUN, now=now)


def _first_unpaid_day(sub: Subscription, period: Period, now: datetime) -> datetime:
    """The day a reactivation starts charging: today, or the day after a cancellation in this period."""
    if sub.canceled_at is not None and period.start <= sub.canceled_at < period.end:
        return max(now, add_days(start_of_day(sub.canceled_at), 1))
    return now


def reactivate_paid(session: Session, event: PaymentRecorded) -> None:
    """Bring back what an invoice's non-payment disabled, now that it is paid (R21)."""
    for sub in billed_by(session, invoice_id=event.invoice_id, lock=True):
        reactivate_after_payment(session, sub=sub, now=event.at)


def remove_payment_method(session: Session, *, org_id: int, method_id: int, actor: Actor, now: datetime) -> None:
    """Remove one of the organisation's payment methods, but not the last usable one while one of its
    subscriptions renews on it (R2, R21); the organisation row is locked, so two removals at once cannot both
    leave none."""
    get_org(session, org_id=org_id)
    load(session, Organization, org_id, lock=True)
    renewing = session.scalar(
        select(Subscription.id)
        .where(
            Subscription.org_id == org_id,
            Subscription.status == Status.ACTIVE,
            Subscription.recurring_billing.is_(True),
        )
        .limit(1)
    )
    payments.remove_payment_method(
        session, org_id=org_id, method_id=method_id, renewing=renewing is not None, actor=actor, now=now
    )
