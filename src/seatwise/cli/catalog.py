"""`seatwise product`: the catalogue."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from seatwise.catalog import service as catalog
from seatwise.catalog.models import Product
from seatwise.catalog.schemas import ProductOut
from seatwise.cli.common import Ctx, command, group
from seatwise.cli.output import Out

products = group("Products in the catalogue.")


def _product_out(row: Product) -> dict[str, Any]:
    return ProductOut.of(row).model_dump()


@command(products, "add")
def product_add(
    ctx: Ctx,
    sku: Annotated[str, typer.Option(help="Stock-keeping unit, unique.")],
    name: Annotated[str, typer.Option(help="Product name.")],
    price: Annotated[str, typer.Option(help="Price per licence per period, e.g. 12.50.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code.")] = "EUR",
    period: Annotated[str, typer.Option(help="monthly or annual.")] = "monthly",
    trial_days: Annotated[int, typer.Option(help="Length of a trial in days (0: no trial).")] = 30,
    max_seats: Annotated[int | None, typer.Option(help="Most licences one subscription may have.")] = None,
    policy: Annotated[str, typer.Option(help="Cancellation policy: standard or window.")] = "standard",
) -> Out:
    """Add a product to the catalogue."""
    with ctx.uow() as session:
        row = catalog.add_product(
            session,
            sku=sku,
            name=name,
            price=price,
            currency=currency,
            interval=period,
            trial_days=trial_days,
            max_seats=max_seats,
            policy=policy,
            now=ctx.now,
        )
        return Out(_product_out(row))


@command(products, "list")
def product_list(ctx: Ctx) -> Out:
    """List the catalogue."""
    with ctx.read() as session:
        return Out([_product_out(p) for p in catalog.list_products(session)])
