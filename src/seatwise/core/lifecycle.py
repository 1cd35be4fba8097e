"""The subscription lifecycle (R1–R6): trial, active, expired, disabled, deleted.

Every function takes a state and returns a new one; nothing here reads a clock or a database.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from seatwise.core.errors import ErrorCode, Refused
from seatwise.core.periods import Interval, Period, add_days, index_containing, period_at, start_of_day

EXPIRED_DAYS = 30  # R2, R4: an expired subscription keeps its users' access this long
DISABLED_DAYS = 90  # R4, R5: admins-only access before deletion
DEFAULT_TRIAL_DAYS = 30


class Status(enum.StrEnum):
    TRIAL = "trial"
    ACTIVE = "active"
    EXPIRED = "expired"
    DISABLED = "disabled"
    DELETED = "deleted"


class Reason(enum.StrEnum):
    TRIAL_ENDED = "trial_ended"
    RECURRING_BILLING_OFF = "recurring_billing_off"
    CANCELED = "canceled"
    NON_PAYMENT = "non_payment"
    DELETED_BY_ADMIN = "deleted_by_admin"


class Event(enum.StrEnum):
    TRIAL_STARTED = "trial_started"
    STARTED = "started"
    CONVERTED = "converted"
    RENEWED = "renewed"
    EXPIRED = "expired"
    DISABLED = "disabled"
    DELETED = "deleted"
    CANCELED = "canceled"
    REACTIVATED = "reactivated"


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Where a subscription stands. In a trial, `anchor` is the trial's first day."""

    status: Status
    reason: Reason | None
    state_until: datetime | None
    interval: Interval
    anchor: datetime
    period_index: int
    trial_end: datetime | None
    recurring_billing: bool

    @property
    def current_period(self) -> Period:
        if self.status is Status.TRIAL:
            assert self.trial_end is not None  # a trial always has its end
            return Period(self.anchor, self.trial_end)
        return period_at(self.anchor, self.interval, self.period_index)

    @property
    def next_due(self) -> datetime | None:
        """When the next transition falls due if nothing changes; None once deleted."""
        if self.status is Status.TRIAL:
            return self.trial_end
        if self.status is Status.ACTIVE:
            return self.current_period.end
        return self.state_until


@dataclass(frozen=True, slots=True)
class Transition:
    """One step the billing run takes: what happened, when it was due, and the state after."""

    event: Event
    at: datetime
    after: Lifecycle


def start_trial(*, now: datetime, interval: Interval, trial_days: int) -> Lifecycle:
    """A new trial (R1): it ends `trial_days` days after the day it starts."""
    first_day = start_of_day(now)
    end = add_days(first_day, trial_days)
    return Lifecycle(Status.TRIAL, None, end, interval, first_day, 0, end, recurring_billing=True)


def start_paid(*, now: datetime, interval: Interval) -> Lifecycle:
    """A subscription bought outright: its first period starts today (R3)."""
    return Lifecycle(Status.ACTIVE, None, None, interval, start_of_day(now), 0, None, recurring_billing=True)


def _expire(state: Lifecycle, *, at: datetime, reason: Reason) -> Lifecycle:
    return replace(state, status=Status.EXPIRED, reason=reason, state_until=add_days(at, EXPIRED_DAYS))


def _disable(state: Lifecycle, *, at: datetime, reason: Reason) -> Lifecycle:
    return replace(state, status=Status.DISABLED, reason=reason, state_until=add_days(at, DISABLED_DAYS))


def renews(*, status: Status, recurring_billing: bool) -> bool:
    """Whether a subscription renews when its period ends (R4): active, with recurring billing on."""
    return status is Status.ACTIVE and recurring_billing


def renewal_index(period_index: int) -> int:
    """The period a renewal starts: the next one on the same anchor (R3)."""
    return period_index + 1


def next_transition(
    state: Lifecycle, *, as_of: datetime, payment_method_at: Callable[[datetime], bool]
) -> Transition | None:
    """The first transition due at or before `as_of`, or None when nothing is due (R2, R4, R5, R19).

    `payment_method_at(t)` tells whether a usable payment method was on file at time t.
    """
    if state.status is Status.TRIAL:
        assert state.trial_end is not None  # a trial always has its end
        if state.trial_end > as_of:
            return None
        at = state.trial_end
        if state.recurring_billing and payment_method_at(at):
            after = replace(state, status=Status.ACTIVE, reason=None, state_until=None, anchor=at, period_index=0)
            return Transition(Event.CONVERTED, at, after)
        return Transition(Event.EXPIRED, at, _expire(state, at=at, reason=Reason.TRIAL_ENDED))

    if state.status is Status.ACTIVE:
        at = state.current_period.end
        if at > as_of:
            return None
        if renews(status=state.status, recurring_billing=state.recurring_billing):
            return Transition(Event.RENEWED, at, replace(state, period_index=renewal_index(state.period_index)))
        return Transition(Event.EXPIRED, at, _expire(state, at=at, reason=Reason.RECURRING_BILLING_OFF))

    if state.status in (Status.EXPIRED, Status.DISABLED):
        assert state.state_until is not None  # expired and disabled subscriptions always have their end date
        at = state.state_until
        if at > as_of:
            return None
        if state.status is Status.EXPIRED and state.reason is not Reason.TRIAL_ENDED:
            assert state.reason is not None  # an expired subscription always has its reason
            return Transition(Event.DISABLED, at, _disable(state, at=at, reason=state.reason))
        after = replace(state, status=Status.DELETED, state_until=None)
        return Transition(Event.DELETED, at, after)

    return None


def advance(state: Lifecycle, *, as_of: datetime, payment_method_at: Callable[[datetime], bool]) -> list[Transition]:
    """Every transition due up to `as_of`, in order, for any number of elapsed periods (R19)."""
    steps = []
    while step := next_transition(state, as_of=as_of, payment_method_at=payment_method_at):
        steps.append(step)
        state = step.after
    return steps


def cancel(state: Lifecycle, *, now: datetime) -> Lifecycle:
    """A cancelled subscription is disabled at once and deleted 90 days later (R5)."""
    if state.status is not Status.ACTIVE:
        raise Refused(
            f"only an active subscription can be cancelled; this one is {state.status}", code=ErrorCode.NOT_ACTIVE
        )
    return replace(_disable(state, at=now, reason=Reason.CANCELED), recurring_billing=False)


def disable_for_non_payment(state: Lifecycle, *, at: datetime) -> Lifecycle:
    """An invoice unpaid past the dunning period disables the subscription (R21)."""
    if state.status not in (Status.ACTIVE, Status.EXPIRED):
        raise Refused(
            f"only an active or expired subscription is disabled for non-payment; this one is {state.status}",
            code=ErrorCode.NOT_ACTIVE,
        )
    return _disable(state, at=at, reason=Reason.NON_PAYMENT)


def set_recurring_billing(state: Lifecycle, *, enabled: bool) -> Lifecycle:
    """Recurring billing on or off; it never cancels anything by itself (R4, R7)."""
    if state.status not in (Status.TRIAL, Status.ACTIVE):
        raise Refused(
            f"recurring billing can change only on a trial or active subscription; this one is {state.status}"
            " (reactivate it instead)",
            code=ErrorCode.NOT_ACTIVE,
        )
    return replace(state, recurring_billing=enabled)


def reactivate(state: Lifecycle, *, now: datetime) -> Lifecycle:
    """Back to active (R6): from expired with a new period from today, from disabled on the old billing date."""
    if state.status is Status.EXPIRED:
        return replace(
            state,
            status=Status.ACTIVE,
            reason=None,
            state_until=None,
            anchor=start_of_day(now),
            period_index=0,
            recurring_billing=True,
        )
    if state.status is Status.DISABLED:
        index = index_containing(state.anchor, state.interval, now)
        return replace(
            state, status=Status.ACTIVE, reason=None, state_until=None, period_index=index, recurring_billing=True
        )
    if state.status is Status.DELETED:
        raise Refused("a deleted subscription cannot be reactivated; buy a new one", code=ErrorCode.DELETED)
    raise Refused(
        f"only an expired or disabled subscription can be reactivated; this one is {state.status}",
        code=ErrorCode.NOT_REACTIVATABLE,
    )


def deletion_date(state: Lifecycle) -> datetime | None:
    """When a non-active subscription will be deleted if nothing changes."""
    if state.status is Status.DISABLED or (state.status is Status.EXPIRED and state.reason is Reason.TRIAL_ENDED):
        return state.state_until
    if state.status is Status.EXPIRED:
        assert state.state_until is not None  # an expired subscription always has its end date
        return state.state_until + timedelta(days=DISABLED_DAYS)
    return None
