"""`seatwise payment-method`: cards and pay-by-invoice."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from seatwise.cli.common import Ctx, OrgId, command, group
from seatwise.cli.output import Out
from seatwise.core.roles import OPERATOR
from seatwise.organizations import service as organizations
from seatwise.payments import service as payments
from seatwise.payments.gateways import gateway_for
from seatwise.payments.models import PaymentMethod
from seatwise.payments.schemas import PaymentMethodOut
from seatwise.subscriptions import service as subscriptions

payment_methods = group("Payment methods of an organisation.")


def _method_out(method: PaymentMethod) -> dict[str, Any]:
    return PaymentMethodOut.of(method).model_dump()


@command(payment_methods, "add")
def payment_method_add(
    ctx: Ctx,
    org: OrgId,
    card: Annotated[str | None, typer.Option(help="Card number (test: 4242 4242 4242 4242).")] = None,
    exp: Annotated[str | None, typer.Option(help="Card expiry, MM/YY.")] = None,
    invoice: Annotated[bool, typer.Option("--invoice", help="Pay by bank transfer against invoices.")] = False,
) -> Out:
    """Add a card or pay-by-invoice to an organisation."""
    with ctx.read() as session:
        request = payments.card_request(
            session, org_id=org, card_number=card, expiry=exp, invoice=invoice, actor=OPERATOR, now=ctx.now
        )
    saved = payments.save_card(gateway_for(ctx.url), request)
    with ctx.uow() as session:
        return Out(
            _method_out(payments.add_payment_method(session, org_id=org, card=saved, actor=OPERATOR, now=ctx.now))
        )


@command(payment_methods, "list")
def payment_method_list(ctx: Ctx, org: OrgId) -> Out:
    """List an organisation's payment methods."""
    with ctx.read() as session:
        organizations.get_org(session, org_id=org)
        return Out([_method_out(m) for m in payments.list_payment_methods(session, org_id=org)])


@command(payment_methods, "remove")
def payment_method_remove(
    ctx: Ctx,
    org: OrgId,
    method: Annotated[int, typer.Argument(metavar="METHOD", help="Payment method id.")],
) -> Out:
    """Remove a payment method (not the last one a renewing subscription is paid with)."""
    with ctx.uow() as session:
        subscriptions.remove_payment_method(session, org_id=org, method_id=method, actor=OPERATOR, now=ctx.now)
    return Out({"org_id": org, "removed": method}, text=f"payment method {method} removed")
