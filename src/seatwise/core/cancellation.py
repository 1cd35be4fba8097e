"""The cancellation decision (R7–R11): one pure answer for the API, the web page and the CLI."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from seatwise.core.invoicing import credit_returned_by
from seatwise.core.lifecycle import DISABLED_DAYS, Lifecycle, Status
from seatwise.core.money import Money
from seatwise.core.periods import add_days
from seatwise.core.policy import Policy
from seatwise.core.proration import credit_for_unused_days


class Code(enum.StrEnum):
    ALLOWED = "allowed"
    TRIAL_NOTHING_TO_CANCEL = "trial_nothing_to_cancel"
    TOO_MANY_ASSIGNED_LICENSES = "too_many_assigned_licenses"
    OUTSIDE_CANCELLATION_WINDOW = "outside_cancellation_window"
    NOT_ACTIVE = "not_active"
    NOT_AUTHORIZED = "not_authorized"


CANCEL_REASONS = ("too_expensive", "missing_features", "switching_product", "no_longer_needed", "other")


class RemedyAction(enum.StrEnum):
    NONE = "none"
    CONFIRM = "confirm_cancellation"
    UNASSIGN_LICENSES = "unassign_licenses"
    TURN_OFF_RECURRING_BILLING = "turn_off_recurring_billing"
    ASK_AN_ADMIN = "ask_a_global_or_billing_admin"


@dataclass(frozen=True, slots=True)
class Remedy:
    action: RemedyAction
    count: int | None = None


@dataclass(frozen=True, slots=True)
class CancellationDecision:
    allowed: bool
    code: Code
    remedy: Remedy
    credit: Money  # before VAT
    dates: dict[str, datetime | None] = field(default_factory=dict)
    assigned: int = 0
    policy: Policy = Policy()
    credit_vat: Money | None = None  # the credit's VAT, at the rate of the charge it corrects (R24)

    @property
    def credit_total(self) -> Money:
        """The credit with its VAT: what comes back."""
        return self.credit if self.credit_vat is None else self.credit + self.credit_vat


def decide_cancellation(
    *,
    state: Lifecycle,
    policy: Policy,
    seats: int,
    assigned: int,
    unit_price: Money,
    has_payment_method: bool,
    may_cancel: bool,
    is_operator: bool,
    now: datetime,
) -> CancellationDecision:
    """Whether the subscription may be cancelled now, why not, what to do, and what comes back."""
    zero = Money.zero(unit_price.currency)
    period = state.current_period

    def refuse(code: Code, remedy: Remedy, **dates: datetime | None) -> CancellationDecision:
        return CancellationDecision(False, code, remedy, zero, dates, assigned, policy)

    if not may_cancel:
        return refuse(Code.NOT_AUTHORIZED, Remedy(RemedyAction.ASK_AN_ADMIN))
    if state.status is Status.TRIAL:
        converts = has_payment_method and state.recurring_billing
        remedy = Remedy(RemedyAction.TURN_OFF_RECURRING_BILLING if converts else RemedyAction.NONE)
        key = "converts_on" if converts else "expires_on"
        return refuse(Code.TRIAL_NOTHING_TO_CANCEL, remedy, **{key: state.trial_end})
    if state.status is not Status.ACTIVE:
        return refuse(Code.NOT_ACTIVE, Remedy(RemedyAction.NONE), state_until=state.state_until)
    if not is_operator:
        if not policy.in_window(period, now):
            return refuse(
                Code.OUTSIDE_CANCELLATION_WINDOW,
                Remedy(RemedyAction.TURN_OFF_RECURRING_BILLING),
                window_closed_on=policy.window_closes(period),
                current_period_end=period.end,
            )
        to_unassign = policy.unassign_needed(assigned)
        if to_unassign:
            return refuse(
                Code.TOO_MANY_ASSIGNED_LICENSES,
                Remedy(RemedyAction.UNASSIGN_LICENSES, to_unassign),
                current_period_end=period.end,
            )
    credit = credit_for_unused_days(unit_price=unit_price, seats=seats, period=period, on=now)
    dates: dict[str, datetime | None] = {
        "canceled_on": now,
        "current_period_end": period.end,
        "credit_returned_by": credit_returned_by(arose=now, period_end=period.end),
        "deleted_on": add_days(now, DISABLED_DAYS),
    }
    return CancellationDecision(
        True, Code.ALLOWED, Remedy(RemedyAction.CONFIRM), credit.amount, dates, assigned, policy
    )
