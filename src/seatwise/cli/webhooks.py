"""`seatwise webhook`: the operator's view of every webhook endpoint, its health and its attempts."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from seatwise.cli.common import Ctx, command, group
from seatwise.cli.output import Out
from seatwise.core.roles import OPERATOR
from seatwise.webhooks import service as webhooks
from seatwise.webhooks.schemas import AttemptOut, DeliveryOut, EndpointOut, NewEndpointOut

endpoints = group("Webhook endpoints: their state, attempts and secrets.")
EndpointId = Annotated[int, typer.Argument(metavar="ID")]


def _endpoint_out(endpoint: Any) -> dict[str, Any]:
    return EndpointOut.of(endpoint).model_dump()


@command(endpoints, "list")
def webhook_list(ctx: Ctx) -> Out:
    """List every endpoint with its state: enabled, or disabled and why, and failing since when."""
    with ctx.read() as session:
        rows = webhooks.list_endpoints(session, actor=OPERATOR, after=None, limit=10_000)
        return Out([_endpoint_out(e) for e in rows])


@command(endpoints, "show")
def webhook_show(ctx: Ctx, endpoint_id: EndpointId) -> Out:
    """Show one endpoint and its latest attempts (status, latency, error), newest first."""
    with ctx.read() as session:
        endpoint = webhooks.get_endpoint(session, endpoint_id=endpoint_id, actor=OPERATOR)
        attempts = [AttemptOut.of(a).model_dump() for a in webhooks.recent_attempts(session, endpoint_id=endpoint.id)]
        data = {**_endpoint_out(endpoint), "recent_attempts": attempts}
    lines = [f"{k}: {v}" for k, v in data.items() if k != "recent_attempts"]
    lines += [
        f"  {a['at']:%Y-%m-%d %H:%M:%S} {a['status'] or '-'} {a['latency_ms']} ms {a['error'] or ''}" for a in attempts
    ]
    return Out(data, text="\n".join(lines))


@command(endpoints, "add")
def webhook_add(
    ctx: Ctx,
    url: Annotated[str, typer.Option(help="https:// URL (http only to hosts in SEATWISE_WEBHOOK_ALLOW).")],
    org: Annotated[int | None, typer.Option(help="Organisation id; without it, every organisation's events.")] = None,
) -> Out:
    """Send events to URL, signed with the secret printed once."""
    with ctx.uow() as session:
        endpoint = webhooks.add_endpoint(session, org_id=org, url=url, actor=OPERATOR, now=ctx.now)
        data = NewEndpointOut.of(endpoint).model_dump()
    return Out(data, text=f"webhook endpoint {data['id']} (secret shown once, keep it safe): {data['secret']}")


@command(endpoints, "delete")
def webhook_delete(ctx: Ctx, endpoint_id: EndpointId) -> Out:
    """Stop sending to an endpoint and forget it, its deliveries and its attempts."""
    with ctx.uow() as session:
        webhooks.delete_endpoint(session, endpoint_id=endpoint_id, actor=OPERATOR, now=ctx.now)
    return Out({"id": endpoint_id, "deleted": True}, text=f"webhook endpoint {endpoint_id} deleted")


@command(endpoints, "disable")
def webhook_disable(ctx: Ctx, endpoint_id: EndpointId) -> Out:
    """Send nothing to an endpoint until it is enabled again."""
    with ctx.uow() as session:
        endpoint = webhooks.set_enabled(session, endpoint_id=endpoint_id, enabled=False, actor=OPERATOR, now=ctx.now)
        return Out(_endpoint_out(endpoint))


@command(endpoints, "enable")
def webhook_enable(ctx: Ctx, endpoint_id: EndpointId) -> Out:
    """Send to an endpoint again; the deliveries that waited go first."""
    with ctx.uow() as session:
        endpoint = webhooks.set_enabled(session, endpoint_id=endpoint_id, enabled=True, actor=OPERATOR, now=ctx.now)
        return Out(_endpoint_out(endpoint))


@command(endpoints, "rotate-secret")
def webhook_rotate(ctx: Ctx, endpoint_id: EndpointId) -> Out:
    """Give an endpoint a new signing secret, printed once; the old one signs beside it for 24 hours."""
    with ctx.uow() as session:
        endpoint = webhooks.rotate_secret(session, endpoint_id=endpoint_id, actor=OPERATOR, now=ctx.now)
        data = NewEndpointOut.of(endpoint).model_dump()
    return Out(data, text=f"new secret of webhook endpoint {endpoint_id} (shown once): {data['secret']}")


@command(endpoints, "resend")
def webhook_resend(
    ctx: Ctx, endpoint_id: EndpointId, event: Annotated[int, typer.Option(help="The event id to send again.")]
) -> Out:
    """Send one event to an endpoint again."""
    with ctx.uow() as session:
        delivery = webhooks.resend(session, endpoint_id=endpoint_id, event_id=event, actor=OPERATOR, now=ctx.now)
        session.flush()
        return Out(DeliveryOut.of(delivery).model_dump())
