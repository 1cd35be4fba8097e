"""`seatwise audit`: the audit log."""

from __future__ import annotations

from typing import Annotated

import typer

from seatwise.cli.common import Ctx, command, group
from seatwise.cli.output import Out
from seatwise.events import service as audit
from seatwise.organizations import service as organizations
from seatwise.subscriptions import service as subscriptions

audit_log = group("The audit log.")


@command(audit_log, "list")
def audit_list(
    ctx: Ctx,
    org: Annotated[int | None, typer.Option(help="Organisation id.")] = None,
    subscription: Annotated[int | None, typer.Option(help="Subscription id.")] = None,
) -> Out:
    """Show the audit log, oldest first."""
    with ctx.read() as session:
        if org is not None:
            organizations.get_org(session, org_id=org)
        if subscription is not None:
            subscriptions.get(session, sub_id=subscription)
        entries = audit.entries(
            session, org_id=org, entity="subscriptions" if subscription is not None else None, entity_id=subscription
        )
        rows = [
            {
                "id": e.id,
                "at": e.at,
                "actor": e.actor,
                "org_id": e.org_id,
                "action": e.action,
                "entity": e.entity,
                "entity_id": e.entity_id,
                "before": e.before,
                "after": e.after,
            }
            for e in entries
        ]
    if ctx.json:
        return Out(rows)
    return Out([{k: r[k] for k in ("id", "at", "actor", "action", "entity", "entity_id")} for r in rows])
