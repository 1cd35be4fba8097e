"""`seatwise org` and `seatwise user`: customer organisations and their users."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from seatwise.cli.common import Ctx, OrgId, command, group, password_from_stdin
from seatwise.cli.output import Out
from seatwise.core.roles import OPERATOR
from seatwise.organizations import notifications
from seatwise.organizations import service as organizations
from seatwise.organizations.models import Organization, User
from seatwise.organizations.schemas import BillingNotificationsOut, OrganizationOut, UserOut
from seatwise.tax import service as tax
from seatwise.tax.schemas import BillingProfileOut

orgs = group("Customer organisations.")
users = group("Users of an organisation.")

UserId = Annotated[int, typer.Argument(metavar="ID")]
OrgArg = Annotated[int, typer.Argument(metavar="ORG", help="Organisation id.")]

# The billing profile's options (R23), on `org set-billing` and, optional there, on `org add`.
LegalName = Annotated[str | None, typer.Option(help="Legal name on invoices.")]
AddressLine = Annotated[str | None, typer.Option(help="Street and number.")]
Postcode = Annotated[str | None, typer.Option(help="Postcode.")]
City = Annotated[str | None, typer.Option(help="City.")]
Country = Annotated[str | None, typer.Option(help="ISO 3166-1 country code, such as BE.")]
VatId = Annotated[str | None, typer.Option(help="VAT ID; an EU one is checked offline for the country.")]
PoNumber = Annotated[str | None, typer.Option(help="Purchase order number on invoices (at most 100 characters).")]
ExemptReason = Annotated[str | None, typer.Option(help="Why it is exempt from VAT; set: 0 % VAT.")]
InvoiceEmails = Annotated[
    list[str] | None, typer.Option("--invoice-email", help="Address invoices go to (repeatable, at most 5).")
]
Language = Annotated[str, typer.Option("--language", help="Language of its invoices: en or nl.")]


def _billing_said(out: BillingProfileOut) -> str:
    extras = [
        f"VAT ID {out.vat_id}" if out.vat_id else "no VAT ID",
        *([f"PO {out.po_number}"] if out.po_number else []),
        *([f"exempt from VAT: {out.exempt_reason}"] if out.exempt_reason else []),
        f"invoices in {out.invoice_language}" + (f" to {', '.join(out.invoice_emails)}" if out.invoice_emails else ""),
    ]
    return f"{out.legal_name}, {out.address_line}, {out.postcode} {out.city}, {out.country}; {'; '.join(extras)}"


def _org_out(row: Organization) -> dict[str, Any]:
    return OrganizationOut.of(row).model_dump()


def _user_out(row: User) -> dict[str, Any]:
    return UserOut.of(row).model_dump()


@command(orgs, "add")
def org_add(
    ctx: Ctx,
    name: Annotated[str, typer.Option(help="Organisation name.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code it pays in.")] = "EUR",
    locale: Annotated[str, typer.Option(help="Language of its messages: en or nl.")] = "en",
    legal_name: LegalName = None,
    address_line: AddressLine = None,
    postcode: Postcode = None,
    city: City = None,
    country: Country = None,
    vat_id: VatId = None,
    po_number: PoNumber = None,
    exempt_reason: ExemptReason = None,
    invoice_email: InvoiceEmails = None,
    language: Annotated[
        str | None, typer.Option("--language", help="Language of its invoices (default: --locale).")
    ] = None,
) -> Out:
    """Add a customer organisation; with --legal-name, its billing profile too."""
    profile: dict[str, Any] = dict(
        legal_name=legal_name,
        address_line=address_line,
        postcode=postcode,
        city=city,
        country=country,
        vat_id=vat_id,
        po_number=po_number,
        exempt_reason=exempt_reason,
        invoice_emails=invoice_email or [],
    )
    with ctx.uow() as session:
        org = organizations.add_org(session, name=name, currency=currency, locale=locale, now=ctx.now)
        out = _org_out(org)
        # Any billing option asks for a profile: one given without --legal-name is refused as missing one.
        if any(profile.values()) or language is not None:
            done = tax.set_billing_profile(
                session,
                org_id=org.id,
                **profile,
                invoice_language=language or locale,
                actor_label=OPERATOR.label,
                now=ctx.now,
            )
            out["billing_profile"] = BillingProfileOut.of(done).model_dump()
        return Out(out)


@command(orgs, "list")
def org_list(ctx: Ctx) -> Out:
    """List customer organisations."""
    with ctx.read() as session:
        return Out([_org_out(o) for o in organizations.list_orgs(session)])


@command(orgs, "set-billing")
def org_set_billing(
    ctx: Ctx,
    org: OrgArg,
    legal_name: Annotated[str, typer.Option(help="Legal name on invoices.")],
    address_line: Annotated[str, typer.Option(help="Street and number.")],
    postcode: Annotated[str, typer.Option(help="Postcode.")],
    city: Annotated[str, typer.Option(help="City.")],
    country: Annotated[str, typer.Option(help="ISO 3166-1 country code, such as BE.")],
    vat_id: VatId = None,
    po_number: PoNumber = None,
    exempt_reason: ExemptReason = None,
    invoice_email: InvoiceEmails = None,
    language: Language = "en",
) -> Out:
    """Set an organisation's billing profile (a new version; issued invoices keep the one they name)."""
    with ctx.uow() as session:
        done = tax.set_billing_profile(
            session,
            org_id=org,
            legal_name=legal_name,
            address_line=address_line,
            postcode=postcode,
            city=city,
            country=country,
            vat_id=vat_id,
            po_number=po_number,
            exempt_reason=exempt_reason,
            invoice_emails=invoice_email or [],
            invoice_language=language,
            actor_label=OPERATOR.label,
            now=ctx.now,
        )
        out = BillingProfileOut.of(done)
    return Out(out, text=_billing_said(out))


@command(orgs, "billing")
def org_billing(ctx: Ctx, org: OrgArg) -> Out:
    """Show an organisation's billing profile."""
    with ctx.read() as session:
        out = BillingProfileOut.of(tax.billing_profile(session, org_id=org))
    return Out(out, text=_billing_said(out))


@command(orgs, "notifications")
def org_notifications(
    ctx: Ctx,
    org: OrgArg,
    add_email: Annotated[
        list[str] | None, typer.Option("--add-email", help="Add a billing notification address (repeatable).")
    ] = None,
    remove_email: Annotated[
        list[str] | None, typer.Option("--remove-email", help="Remove a billing notification address (repeatable).")
    ] = None,
) -> Out:
    """Show, add or remove the organisation's billing notification addresses (at most 5; R27)."""
    if add_email or remove_email:
        with ctx.uow() as session:
            emails = notifications.change_addresses(
                session,
                org_id=org,
                add=add_email or [],
                remove=remove_email or [],
                actor_label=OPERATOR.label,
                now=ctx.now,
            )
    else:
        with ctx.read() as session:
            emails = notifications.notification_addresses(session, org_id=org)
    shown = BillingNotificationsOut(org_id=org, emails=emails)
    return Out(shown, text="\n".join(emails) if emails else "no billing notification addresses")


@command(users, "add")
def user_add(
    ctx: Ctx,
    org: OrgId,
    email: Annotated[str, typer.Option(help="E-mail address, unique within the organisation.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    role: Annotated[str, typer.Option(help="global_admin, billing_admin, user_admin or user.")] = "user",
    password: Annotated[
        str | None,
        typer.Option(help="Admin center password of an admin (or set it later with `seatwise user password ID`)."),
    ] = None,
) -> Out:
    """Add a user to an organisation."""
    with ctx.uow() as session:
        row = organizations.add_user(
            session, org_id=org, email=email, name=name, role=role, actor=OPERATOR, now=ctx.now
        )
        if password is not None:
            session.flush()
            organizations.set_password(session, user_id=row.id, password=password, now=ctx.now)
        return Out(_user_out(row))


@command(users, "password")
def user_password(ctx: Ctx, user_id: UserId) -> Out:
    """Set an admin's admin center password, read from the first line of stdin."""
    password = password_from_stdin()
    with ctx.uow() as session:
        row = organizations.set_password(session, user_id=user_id, password=password, now=ctx.now)
        return Out(_user_out(row), text=f"password set for {row.email}")


@command(users, "list")
def user_list(ctx: Ctx, org: OrgId) -> Out:
    """List the users of an organisation, removed ones included."""
    with ctx.read() as session:
        return Out([_user_out(u) for u in organizations.list_users(session, org_id=org)])


@command(users, "remove")
def user_remove(ctx: Ctx, user_id: UserId) -> Out:
    """Remove a user: their licences are freed (restorable for 30 days)."""
    with ctx.uow() as session:
        return Out(_user_out(organizations.remove_user(session, user_id=user_id, actor=OPERATOR, now=ctx.now)))


@command(users, "restore")
def user_restore(ctx: Ctx, user_id: UserId) -> Out:
    """Restore a user removed less than 30 days ago, with their licences where seats are free."""
    with ctx.uow() as session:
        return Out(_user_out(organizations.restore_user(session, user_id=user_id, actor=OPERATOR, now=ctx.now)))
