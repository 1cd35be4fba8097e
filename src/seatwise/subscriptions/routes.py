"""Subscriptions over the JSON API, within the caller's own organisation."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from seatwise import db
from seatwise.catalog.models import Product
from seatwise.core.cancellation import CancellationDecision
from seatwise.core.errors import Refused
from seatwise.deps import DB, Body, Caller, Id, Page, Pages, page_of
from seatwise.organizations.service import check_visible_org, get_org
from seatwise.subscriptions import service
from seatwise.subscriptions.models import Subscription
from seatwise.subscriptions.schemas import DecisionOut, MoneyOut, SubscriptionOut

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])
org_router = APIRouter(prefix="/v1/organizations/{org_id}/subscriptions", tags=["subscriptions"])
SubId = Id


def subscription_out(session: Session, sub: Subscription) -> SubscriptionOut:
    """One subscription as the API shows it."""
    return _out(session, [sub])[0]


def _out(session: Session, subs: Sequence[Subscription]) -> list[SubscriptionOut]:
    counts = service.assigned_counts(session, sub_ids=[s.id for s in subs])
    products: dict[int, Product] = {}
    rows = []
    for sub in subs:
        product = products.get(sub.product_id) or products.setdefault(sub.product_id, service.product_of(session, sub))
        rows.append(SubscriptionOut.of(sub, sku=product.sku, product_name=product.name, assigned=counts[sub.id]))
    return rows


@router.get("", operation_id="listSubscriptions", response_model=Page[SubscriptionOut])
def list_subscriptions(caller: Caller, session: DB, paging: Pages) -> Page[SubscriptionOut]:
    """The caller's subscriptions (every organisation's for the operator), oldest first."""
    if caller.org_id is None:  # the operator
        subs = service.list_all(session, after=paging.after, limit=paging.fetch)
    else:
        subs = service.list_for_org(session, org_id=caller.org_id, after=paging.after, limit=paging.fetch)
    return page_of(subs, paging, lambda rows: _out(session, rows))


@org_router.get("", operation_id="listOrganizationSubscriptions", response_model=Page[SubscriptionOut])
def list_org_subscriptions(caller: Caller, session: DB, org_id: Id, paging: Pages) -> Page[SubscriptionOut]:
    """One organisation's subscriptions, oldest first."""
    check_visible_org(org_id=org_id, actor=caller)
    subs = service.list_for_org(session, org_id=org_id, after=paging.after, limit=paging.fetch)
    return page_of(subs, paging, lambda rows: _out(session, rows))


class SubscriptionIn(Body):
    sku: str = Field(max_length=100)
    seats: int = Field(ge=1, le=1_000_000)
    trial: bool = False  # a trial (fixed seats, R1) instead of a paid subscription from today


@org_router.post("", operation_id="createSubscription", response_model=SubscriptionOut, status_code=201)
def start_subscription(caller: Caller, org_id: Id, body: SubscriptionIn, request: Request) -> SubscriptionOut:
    """Start a trial, or buy a subscription active from today (a Global or Billing admin, R9)."""
    check_visible_org(org_id=org_id, actor=caller)
    start = service.start_trial if body.trial else service.buy
    with db.unit_of_work(request.app.state.database_url) as session:
        sub = start(
            session, org_id=org_id, sku=body.sku, seats=body.seats, actor=caller, now=request.app.state.clock.now()
        )
        session.flush()
        return subscription_out(session, sub)


@router.get("/{sub_id}", operation_id="getSubscription", response_model=SubscriptionOut)
def get_subscription(caller: Caller, session: DB, sub_id: SubId) -> SubscriptionOut:
    """One subscription; another organisation's answers 404 as a missing one does."""
    return _out(session, [service.get_visible(session, sub_id=sub_id, actor=caller)])[0]


def _decision_out(session: Session, sub: Subscription, decision: CancellationDecision) -> DecisionOut:
    return DecisionOut.of(decision, locale=get_org(session, org_id=sub.org_id).locale, status=sub.status)


@router.get("/{sub_id}/cancellation", operation_id="previewCancellation", response_model=DecisionOut)
def cancellation_preview(caller: Caller, session: DB, sub_id: SubId, request: Request) -> DecisionOut:
    """What cancelling now would do (R10): allowed or not, why, the remedy, the dates and the credit."""
    sub = service.get_visible(session, sub_id=sub_id, actor=caller)
    now = request.app.state.clock.now()
    return _decision_out(session, sub, service.cancellation_decision(session, sub=sub, actor=caller, now=now))


class CancellationIn(Body):
    reason: str | None = None  # too_expensive, missing_features, switching_product, no_longer_needed, other
    comment: str | None = None


class CancellationOut(BaseModel):
    subscription: SubscriptionOut
    decision: DecisionOut


@router.post(
    "/{sub_id}/cancellation",
    operation_id="cancelSubscription",
    response_model=CancellationOut,
    responses={409: {"description": "A rule refuses: the problem carries the decision"}},
)
def cancel(caller: Caller, sub_id: SubId, body: CancellationIn, request: Request) -> CancellationOut:
    """Cancel if the decision of R10 allows it; otherwise 409 with that decision, and nothing changed."""
    now = request.app.state.clock.now()
    with db.unit_of_work(request.app.state.database_url) as session:
        try:
            sub, decision = service.cancel(
                session, sub_id=sub_id, actor=caller, now=now, reason=body.reason, comment=body.comment
            )
        except Refused as exc:
            if isinstance(exc.detail, CancellationDecision):
                exc.detail = _decision_out(session, service.get(session, sub_id=sub_id), exc.detail)
            raise
        return CancellationOut(subscription=_out(session, [sub])[0], decision=_decision_out(session, sub, decision))


class RecurringBillingIn(Body):
    enabled: bool


@router.put("/{sub_id}/recurring-billing", operation_id="setRecurringBilling", response_model=SubscriptionOut)
def recurring_billing(caller: Caller, sub_id: SubId, body: RecurringBillingIn, request: Request) -> SubscriptionOut:
    """Turn recurring billing on or off (off lets the subscription expire at its period's end, R4)."""
    with db.unit_of_work(request.app.state.database_url) as session:
        sub = service.set_recurring_billing(
            session, sub_id=sub_id, enabled=body.enabled, actor=caller, now=request.app.state.clock.now()
        )
        return subscription_out(session, sub)


class ReactivationOut(BaseModel):
    subscription: SubscriptionOut
    charge: MoneyOut
    charged_days: int


@router.post("/{sub_id}/reactivation", operation_id="reactivateSubscription", response_model=ReactivationOut)
def reactivate(caller: Caller, sub_id: SubId, request: Request) -> ReactivationOut:
    """Reactivate an expired or disabled subscription (R6), with what that charges now."""
    with db.unit_of_work(request.app.state.database_url) as session:
        sub, charge = service.reactivate(session, sub_id=sub_id, actor=caller, now=request.app.state.clock.now())
        return ReactivationOut(
            subscription=subscription_out(session, sub), charge=MoneyOut.of(charge.amount), charged_days=charge.days
        )
