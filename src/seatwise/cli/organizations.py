"""`seatwise org` and `seatwise user`: customer organisations and their users."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from seatwise.cli.common import Ctx, OrgId, command, group, password_from_stdin
from seatwise.cli.output import Out
from seatwise.core.roles import OPERATOR
from seatwise.organizations import service as organizations
from seatwise.organizations.models import Organization, User
from seatwise.organizations.schemas import OrganizationOut, UserOut

orgs = group("Customer organisations.")
users = group("Users of an organisation.")

UserId = Annotated[int, typer.Argument(metavar="ID")]


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
) -> Out:
    """Add a customer organisation."""
    with ctx.uow() as session:
        return Out(_org_out(organizations.add_org(session, name=name, currency=currency, locale=locale, now=ctx.now)))


@command(orgs, "list")
def org_list(ctx: Ctx) -> Out:
    """List customer organisations."""
    with ctx.read() as session:
        return Out([_org_out(o) for o in organizations.list_orgs(session)])


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
