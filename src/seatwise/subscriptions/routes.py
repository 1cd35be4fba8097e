"""Subscriptions over the JSON API, within the caller's own organisation."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from seatwise import db
from seatwise.catalog.models import Product
from seatwise.core.cancellation import CancellationDecision
from seatwise.core.errors import ErrorCode, Refused, SeatwiseError
from seatwise.core.roles import Actor
from seatwise.deps import DB, Body, Caller, Id, Page, Pages, answer, page_of
from seatwise.organizations.service import check_visible_org, get_org, get_user
from seatwise.subscriptions import service
from seatwise.subscriptions.models import Subscription
from seatwise.subscriptions.schemas import DecisionOut, MoneyOut, SubscriptionOut

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])
org_router = APIRouter(prefix="/v1/organizations/{org_id}/subscriptions", tags=["subscriptions"])
# Removing a payment method asks whether a subscription still renews on it, so it lives here, above both.
methods_router = APIRouter(prefix="/v1/organizations/{org_id}/payment-methods", tags=["payments"])
SubId = Id


def subscription_out(session: Session, sub: Subscription) -> SubscriptionOut:
    """One subscription as the API shows it."""
    return _out(session, [sub])[0]


class PreconditionFailed(SeatwiseError):
    """An If-Match that names another state of the subscription than its current one."""

    code = ErrorCode.PRECONDITION_FAILED
    status = 412


def etag(out: SubscriptionOut) -> str:
    """The subscription's ETag: changes whenever anything the API shows of it does (licences too)."""
    return '"' + hashlib.sha256(out.model_dump_json().encode()).hexdigest()[:32] + '"'


def locked_now(
    session: Session, request: Request, *, sub_id: int, actor: Actor, user_id: int | None = None
) -> datetime:
    """Lock the subscription a write changes (and first the user it concerns, as every write does), check
    its If-Match, and only then read the clock: a writer that waited for the lock acts after the one it
    waited for, so it never meets a change from its own future."""
    if user_id is not None:
        get_user(session, user_id=user_id, lock=True)
    sub = service.get_visible(session, sub_id=sub_id, actor=actor, lock=True)
    wanted = request.headers.get("if-match")
    if wanted is not None:
        current = etag(subscription_out(session, sub))
        if current not in (tag.strip() for tag in wanted.split(",")) and wanted.strip() != "*":
            raise PreconditionFailed(
                f"subscription {sub_id} changed since it was read (If-Match {wanted}, now {current}): "
                "expected the ETag of a fresh GET"
            )
    return request.app.state.clock.now()


def changed(
    session: Session, request: Request, out: BaseModel | None, sub: Subscription, *, status: int = 200
) -> Response:
    """A write's answer with the subscription's new ETag."""
    return answer(session, request, out, status=status, headers={"ETag": etag(subscription_out(session, sub))})


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
def start_subscription(caller: Caller, org_id: Id, body: SubscriptionIn, request: Request) -> Response:
    """Start a trial, or buy a subscription active from today (a Global or Billing admin, R9)."""
    check_visible_org(org_id=org_id, actor=caller)
    start = service.start_trial if body.trial else service.buy
    with db.unit_of_work(request.app.state.database_url) as session:
        sub = start(
            session, org_id=org_id, sku=body.sku, seats=body.seats, actor=caller, now=request.app.state.clock.now()
        )
        session.flush()
        out = subscription_out(session, sub)
        return answer(session, request, out, status=201, headers={"ETag": etag(out)})


@router.get("/{sub_id}", operation_id="getSubscription", response_model=SubscriptionOut)
def get_subscription(caller: Caller, session: DB, sub_id: SubId, response: Response) -> SubscriptionOut:
    """One subscription, with its ETag for a write's If-Match; another organisation's answers 404 as a missing
    one does."""
    out = _out(session, [service.get_visible(session, sub_id=sub_id, actor=caller)])[0]
    response.headers["ETag"] = etag(out)
    return out


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
def cancel(caller: Caller, sub_id: SubId, body: CancellationIn, request: Request) -> Response:
    """Cancel if the decision of R10 allows it; otherwise 409 with that decision, and nothing changed."""
    with db.unit_of_work(request.app.state.database_url) as session:
        now = locked_now(session, request, sub_id=sub_id, actor=caller)
        try:
            sub, decision = service.cancel(
                session, sub_id=sub_id, actor=caller, now=now, reason=body.reason, comment=body.comment
            )
        except Refused as exc:
            if isinstance(exc.detail, CancellationDecision):
                exc.detail = _decision_out(session, service.get(session, sub_id=sub_id), exc.detail)
            raise
        out = CancellationOut(subscription=_out(session, [sub])[0], decision=_decision_out(session, sub, decision))
        return changed(session, request, out, sub)


class RecurringBillingIn(Body):
    enabled: bool


@router.put("/{sub_id}/recurring-billing", operation_id="setRecurringBilling", response_model=SubscriptionOut)
def recurring_billing(caller: Caller, sub_id: SubId, body: RecurringBillingIn, request: Request) -> Response:
    """Turn recurring billing on or off (off lets the subscription expire at its period's end, R4)."""
    with db.unit_of_work(request.app.state.database_url) as session:
        now = locked_now(session, request, sub_id=sub_id, actor=caller)
        sub = service.set_recurring_billing(session, sub_id=sub_id, enabled=body.enabled, actor=caller, now=now)
        return changed(session, request, subscription_out(session, sub), sub)


class ReactivationOut(BaseModel):
    subscription: SubscriptionOut
    charge: MoneyOut
    charged_days: int


@router.post("/{sub_id}/reactivation", operation_id="reactivateSubscription", response_model=ReactivationOut)
def reactivate(caller: Caller, sub_id: SubId, request: Request) -> Response:
    """Reactivate an expired or disabled subscription (R6), with what that charges now."""
    with db.unit_of_work(request.app.state.database_url) as session:
        now = locked_now(session, request, sub_id=sub_id, actor=caller)
        sub, charge = service.reactivate(session, sub_id=sub_id, actor=caller, now=now)
        out = ReactivationOut(
            subscription=subscription_out(session, sub), charge=MoneyOut.of(charge.amount), charged_days=charge.days
        )
        return changed(session, request, out, sub)


@methods_router.delete("/{method_id}", operation_id="removePaymentMethod", status_code=204)
def remove_payment_method(caller: Caller, org_id: Id, method_id: Id, request: Request) -> Response:
    """Remove a payment method; refused (409 `payment_method_in_use`) for the last usable one while a
    subscription renews on it. To replace a declined card, add the new one (the newest is charged) and
    remove the old one."""
    check_visible_org(org_id=org_id, actor=caller)
    with db.unit_of_work(request.app.state.database_url) as session:
        service.remove_payment_method(
            session, org_id=org_id, method_id=method_id, actor=caller, now=request.app.state.clock.now()
        )
        return answer(session, request, None, status=204)
