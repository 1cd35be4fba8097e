"""`seatwise vendor`: the vendor's legal profile, printed on every invoice (R22)."""

from __future__ import annotations

from typing import Annotated

import typer

from seatwise.cli.common import Ctx, command, group
from seatwise.cli.output import Out
from seatwise.core.roles import OPERATOR
from seatwise.tax import service as tax
from seatwise.tax.schemas import VendorOut

vendor = group("The vendor's legal profile (printed on every invoice).")


def _said(out: VendorOut) -> str:
    vat = (
        f"VAT ID {out.vat_id}" + (", OSS" if out.oss else "") if out.charges_vat else "no VAT ID: charges no VAT (KOR)"
    )
    return (
        f"{out.name}, {out.address_line}, {out.postcode} {out.city}, {out.country}; {vat}; prefix {out.invoice_prefix}"
    )


@command(vendor, "set")
def vendor_set(
    ctx: Ctx,
    name: Annotated[str, typer.Option(help="Legal name.")],
    address_line: Annotated[str, typer.Option(help="Street and number.")],
    postcode: Annotated[str, typer.Option(help="Postcode.")],
    city: Annotated[str, typer.Option(help="City.")],
    country: Annotated[str, typer.Option(help="ISO 3166-1 country code, such as NL.")],
    vat_id: Annotated[str | None, typer.Option(help="VAT ID; without one no VAT is charged (KOR).")] = None,
    company_id: Annotated[str | None, typer.Option(help="Company registration number (KvK).")] = None,
    iban: Annotated[str | None, typer.Option(help="IBAN for payments by transfer.")] = None,
    oss: Annotated[bool, typer.Option("--oss/--no-oss", help="Registered for the EU One-Stop Shop.")] = False,
    invoice_prefix: Annotated[str, typer.Option(help="Prefix of invoice numbers.")] = "SW",
) -> Out:
    """Set the vendor's legal profile: name, address, VAT ID, KvK number, IBAN, OSS and invoice prefix."""
    with ctx.uow() as session:
        done = tax.set_vendor(
            session,
            name=name,
            address_line=address_line,
            postcode=postcode,
            city=city,
            country=country,
            vat_id=vat_id,
            company_id=company_id,
            iban=iban,
            oss=oss,
            invoice_prefix=invoice_prefix,
            actor_label=OPERATOR.label,
            now=ctx.now,
        )
        out = VendorOut.of(done)
    return Out(out, text=_said(out))


@command(vendor, "show")
def vendor_show(ctx: Ctx) -> Out:
    """Show the vendor's legal profile and whether it charges VAT."""
    with ctx.read() as session:
        out = VendorOut.of(tax.vendor_profile(session))
    return Out(out, text=_said(out))
