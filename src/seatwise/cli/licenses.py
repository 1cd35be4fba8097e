"""`seatwise licenses` (how many a subscription has) and `seatwise license` (who holds them)."""

from __future__ import annotations

from typing import Annotated

import typer

from seatwise.cli.common import AsUser, Ctx, SubId, command, group
from seatwise.cli.output import Out
from seatwise.cli.subscriptions import sub_out
from seatwise.licenses import service as licenses
from seatwise.licenses.schemas import LicenseChangeOut
from seatwise.organizations import service as organizations
from seatwise.subscriptions import service as subscriptions

seat_count = group("The number of licences of a subscription.")
assignments = group("Licence assignments.")

UserOption = Annotated[int, typer.Option(help="User id.")]


@command(seat_count, "set")
def licenses_set(
    ctx: Ctx,
    sub_id: SubId,
    total: Annotated[int, typer.Option(help="The new number of licences.")],
    as_: AsUser,
) -> Out:
    """Buy or remove licences to reach a total; prorated by day."""
    with ctx.uow() as session:
        actor = organizations.resolve_actor(session, who=as_)
        change = licenses.set_total(session, sub_id=sub_id, total=total, actor=actor, now=ctx.now)
        proration, delta = change.proration, change.change.delta
        result = LicenseChangeOut.of(change, subscription=sub_out(session, change.subscription))
    text = f"subscription {sub_id}: {change.change.before} → {change.change.after} licences"
    if proration is not None:
        text += (
            f"; {'charge' if delta > 0 else 'credit'} {proration.amount.decimal_string()} "
            f"{proration.amount.currency} for {proration.days} of {proration.days_in_period} days"
        )
        if change.vat and change.vat.amount:
            text += f" + VAT {change.vat.decimal_string()}"
    return Out(result, text=text)


@command(assignments, "assign")
def license_assign(ctx: Ctx, sub_id: SubId, user: UserOption, as_: AsUser) -> Out:
    """Assign a licence of the subscription to a user."""
    with ctx.uow() as session:
        actor = organizations.resolve_actor(session, who=as_)
        assignment = licenses.assign(session, sub_id=sub_id, user_id=user, actor=actor, now=ctx.now)
        return Out({"subscription_id": sub_id, "user_id": user, "assigned_at": assignment.assigned_at})


@command(assignments, "unassign")
def license_unassign(ctx: Ctx, sub_id: SubId, user: UserOption, as_: AsUser) -> Out:
    """Take a licence back from a user (the seat stays paid for)."""
    with ctx.uow() as session:
        actor = organizations.resolve_actor(session, who=as_)
        licenses.unassign(session, sub_id=sub_id, user_id=user, actor=actor, now=ctx.now)
        return Out({"subscription_id": sub_id, "user_id": user, "unassigned_at": ctx.now})


@command(assignments, "list")
def license_list(ctx: Ctx, sub_id: SubId) -> Out:
    """List who holds the licences of a subscription."""
    with ctx.read() as session:
        subscriptions.get(session, sub_id=sub_id)
        return Out(
            [
                {"user_id": a.user_id, "assigned_at": a.assigned_at}
                for a in licenses.assignments_of(session, sub_id=sub_id)
            ]
        )
