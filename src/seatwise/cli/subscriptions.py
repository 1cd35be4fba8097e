"""`seatwise subscription`: trials, purchases, cancellation, recurring billing and reactivation."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.orm import Session

from seatwise.cli.common import AsUser, Ctx, OrgId, SubId, command, group
from seatwise.cli.output import Out
from seatwise.core.cancellation import CancellationDecision
from seatwise.core.errors import BadInput, ErrorCode, Refused
from seatwise.organizations import service as organizations
from seatwise.subscriptions import service as subscriptions
from seatwise.subscriptions.models import Subscription
from seatwise.subscriptions.schemas import DecisionOut, MoneyOut, SubscriptionOut

subscription = group("Subscriptions: trials, purchases, cancellation, reactivation.")

Seats = Annotated[int, typer.Option(help="Number of licences.")]
ActsAs = Annotated[str, typer.Option("--as", help="Who acts: `operator`, or a user id or e-mail.")]


def sub_out(session: Session, sub: Subscription) -> SubscriptionOut:
    """A subscription as the CLI and the API show it: with its product and the licences assigned."""
    product = subscriptions.product_of(session, sub)
    return SubscriptionOut.of(
        sub, sku=product.sku, product_name=product.name, assigned=subscriptions.assigned_count(session, sub_id=sub.id)
    )


def _decision_out(session: Session, sub: Subscription, decision: CancellationDecision) -> DecisionOut:
    locale = organizations.get_org(session, org_id=sub.org_id).locale
    return DecisionOut.of(decision, locale=locale, status=sub.status)


@command(subscription, "trial")
def subscription_trial(
    ctx: Ctx,
    org: OrgId,
    sku: Annotated[str, typer.Option(help="Product SKU.")],
    seats: Seats = 25,
    as_: ActsAs = "operator",
) -> Out:
    """Start a trial (fixed licences for the product's trial days)."""
    with ctx.uow() as session:
        actor = organizations.resolve_actor(session, who=as_)
        sub = subscriptions.start_trial(session, org_id=org, sku=sku, seats=seats, actor=actor, now=ctx.now)
        return Out(sub_out(session, sub))


@command(subscription, "buy")
def subscription_buy(
    ctx: Ctx,
    org: OrgId,
    sku: Annotated[str, typer.Option(help="Product SKU.")],
    seats: Seats,
    as_: ActsAs = "operator",
) -> Out:
    """Buy a subscription, active from today."""
    with ctx.uow() as session:
        actor = organizations.resolve_actor(session, who=as_)
        sub = subscriptions.buy(session, org_id=org, sku=sku, seats=seats, actor=actor, now=ctx.now)
        return Out(sub_out(session, sub))


@command(subscription, "show")
def subscription_show(ctx: Ctx, sub_id: SubId) -> Out:
    """Show one subscription."""
    with ctx.read() as session:
        return Out(sub_out(session, subscriptions.get(session, sub_id=sub_id)))


@command(subscription, "list")
def subscription_list(
    ctx: Ctx, org: Annotated[int | None, typer.Option(help="Organisation id (default: all).")] = None
) -> Out:
    """List subscriptions, of one organisation or all."""
    with ctx.read() as session:
        subs = subscriptions.list_all(session) if org is None else subscriptions.list_for_org(session, org_id=org)
        rows = [sub_out(session, s) for s in subs]
    if ctx.json:
        return Out(rows)
    return Out(
        [
            {
                "id": r.id,
                "org": r.org_id,
                "sku": r.sku,
                "status": r.status,
                "reason": r.status_reason,
                "licences": f"{r.assigned}/{r.seats}",
                "recurring": "on" if r.recurring_billing else "off",
                "period_end": r.current_period_end.date(),
                "until": r.state_until and r.state_until.date(),
            }
            for r in rows
        ]
    )


@command(subscription, "cancel-preview")
def subscription_cancel_preview(ctx: Ctx, sub_id: SubId, as_: AsUser) -> Out:
    """What cancelling now would do: allowed or not, why, the remedy, dates and credit (R10)."""
    with ctx.read() as session:
        actor = organizations.resolve_actor(session, who=as_)
        sub = subscriptions.get_visible(session, sub_id=sub_id, actor=actor)
        decision = _decision_out(
            session, sub, subscriptions.cancellation_decision(session, sub=sub, actor=actor, now=ctx.now)
        )
    return Out(decision, text=decision.message)


@command(subscription, "cancel")
def subscription_cancel(
    ctx: Ctx,
    sub_id: SubId,
    as_: AsUser,
    reason: Annotated[
        str | None,
        typer.Option(help="too_expensive, missing_features, switching_product, no_longer_needed or other."),
    ] = None,
    comment: Annotated[str | None, typer.Option(help="Free-text feedback.")] = None,
) -> Out:
    """Cancel a subscription if the rules allow it; otherwise exit 3 with the decision."""
    with ctx.uow() as session:
        actor = organizations.resolve_actor(session, who=as_)
        try:
            sub, decision = subscriptions.cancel(
                session, sub_id=sub_id, actor=actor, now=ctx.now, reason=reason, comment=comment
            )
        except Refused as exc:
            if isinstance(exc.detail, CancellationDecision):
                sub = subscriptions.get(session, sub_id=sub_id)
                exc.detail = _decision_out(session, sub, exc.detail)
            raise
        told = _decision_out(session, sub, decision)
        result = {"subscription": sub_out(session, sub), "decision": told}
    return Out(result, text=f"subscription {sub_id} cancelled. {told.message}")


@command(subscription, "recurring-billing")
def subscription_recurring_billing(
    ctx: Ctx,
    sub_id: SubId,
    state: Annotated[str, typer.Argument(metavar="on|off", help="on or off.")],
    as_: AsUser,
) -> Out:
    """Turn recurring billing on or off."""
    if state not in ("on", "off"):
        raise BadInput(f"invalid state {state!r}: expected on or off", code=ErrorCode.INVALID_STATE)
    with ctx.uow() as session:
        actor = organizations.resolve_actor(session, who=as_)
        sub = subscriptions.set_recurring_billing(
            session, sub_id=sub_id, enabled=state == "on", actor=actor, now=ctx.now
        )
        return Out(sub_out(session, sub))


@command(subscription, "reactivate")
def subscription_reactivate(ctx: Ctx, sub_id: SubId, as_: AsUser) -> Out:
    """Reactivate an expired or disabled subscription."""
    with ctx.uow() as session:
        actor = organizations.resolve_actor(session, who=as_)
        sub, charge = subscriptions.reactivate(session, sub_id=sub_id, actor=actor, now=ctx.now)
        return Out(
            {"subscription": sub_out(session, sub), "charge": MoneyOut.of(charge.amount), "charged_days": charge.days}
        )
