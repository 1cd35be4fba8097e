"""JSON shapes of subscriptions and cancellation decisions (CLI `--json` and the HTTP API)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from seatwise.core.cancellation import CancellationDecision, Code
from seatwise.core.money import Money
from seatwise.i18n import format_day, format_money, gettext
from seatwise.subscriptions.models import Subscription


class MoneyOut(BaseModel):
    amount: str  # decimal string in the currency's units: "112.50", "2032"
    currency: str

    @classmethod
    def of(cls, money: Money) -> MoneyOut:
        return cls(amount=money.decimal_string(), currency=money.currency)


class SubscriptionOut(BaseModel):
    id: int
    org_id: int
    sku: str
    product_name: str
    status: str
    status_reason: str | None
    seats: int
    assigned: int
    recurring_billing: bool
    trial_end: datetime | None
    current_period_start: datetime
    current_period_end: datetime
    state_until: datetime | None
    currency: str
    unit_price: str
    canceled_at: datetime | None

    @classmethod
    def of(cls, sub: Subscription, *, sku: str, product_name: str, assigned: int) -> SubscriptionOut:
        return cls(
            id=sub.id,
            org_id=sub.org_id,
            sku=sku,
            product_name=product_name,
            status=sub.status,
            status_reason=sub.status_reason,
            seats=sub.seats,
            assigned=assigned,
            recurring_billing=sub.recurring_billing,
            trial_end=sub.trial_end,
            current_period_start=sub.current_period_start,
            current_period_end=sub.current_period_end,
            state_until=sub.state_until,
            currency=sub.currency,
            unit_price=Money(sub.unit_price, sub.currency).decimal_string(),
            canceled_at=sub.canceled_at,
        )


class RemedyOut(BaseModel):
    action: str
    count: int | None


class DecisionOut(BaseModel):
    allowed: bool
    code: str
    message: str
    remedy: RemedyOut
    credit: MoneyOut  # before VAT
    credit_vat: MoneyOut  # at the rate of the charge it corrects (R24)
    credit_total: MoneyOut  # what comes back
    dates: dict[str, datetime | None]

    @classmethod
    def of(cls, decision: CancellationDecision, *, locale: str, status: str) -> DecisionOut:
        return cls(
            allowed=decision.allowed,
            code=decision.code.value,
            message=explain(decision, locale=locale, status=status),
            remedy=RemedyOut(action=decision.remedy.action.value, count=decision.remedy.count),
            credit=MoneyOut.of(decision.credit),
            credit_vat=MoneyOut.of(decision.credit_vat or Money.zero(decision.credit.currency)),
            credit_total=MoneyOut.of(decision.credit_total),
            dates=decision.dates,
        )


def explain(decision: CancellationDecision, *, locale: str, status: str) -> str:
    """The decision in plain words of the organisation's language (glossary wording)."""
    dates = {key: format_day(value, locale) for key, value in decision.dates.items()}

    def _(msgid: str, **params: object) -> str:
        return gettext(locale, msgid, **params)

    match decision.code:
        case Code.ALLOWED:
            return " ".join(
                [
                    _(
                        "You can cancel this subscription online. It is disabled at once and deleted on {date}.",
                        date=dates["deleted_on"],
                    ),
                    _(
                        "Refund: a prorated credit of {credit} will be returned to you within the next billing cycle, "
                        "by {date}.",
                        credit=format_money(decision.credit_total, locale),
                        date=dates["credit_returned_by"],
                    ),
                ]
            )
        case Code.TRIAL_NOTHING_TO_CANCEL:
            parts = [
                _("If you are a trial customer, there is nothing to cancel."),
                _("Trial subscriptions expire automatically unless you provide a payment method."),
            ]
            if "converts_on" in dates:
                parts.append(
                    _(
                        "A payment method is on file, so this trial becomes a paid subscription on {date}. "
                        "Turn recurring billing off to let it expire instead.",
                        date=dates["converts_on"],
                    )
                )
            else:
                parts.append(_("This trial expires on {date}.", date=dates["expires_on"]))
            return " ".join(parts)
        case Code.TOO_MANY_ASSIGNED_LICENSES:
            return " ".join(
                [
                    _(
                        "If you have fewer than {threshold} assigned licenses, you can cancel your subscription "
                        "online.",
                        threshold=decision.policy.assigned_threshold,
                    ),
                    _(
                        "You have {assigned} assigned licenses. Remove users until you have fewer than {threshold}: "
                        "unassign {count} more.",
                        assigned=decision.assigned,
                        threshold=decision.policy.assigned_threshold,
                        count=decision.remedy.count,
                    ),
                ]
            )
        case Code.OUTSIDE_CANCELLATION_WINDOW:
            return _(
                "This subscription can be cancelled only within {days} days of its start or renewal; that "
                "window closed on {date}. Turn recurring billing off so that it ends on {end}.",
                days=decision.policy.window_days,
                date=dates["window_closed_on"],
                end=dates["current_period_end"],
            )
        case Code.NOT_ACTIVE:
            return _("Only an active subscription can be cancelled; this one is {status}.", status=_(status))
        case Code.NOT_AUTHORIZED:
            return _("Only a Global admin or a Billing admin can cancel a subscription.")
