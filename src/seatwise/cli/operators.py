"""`seatwise operator`: the people who sign in to the operator console."""

from __future__ import annotations

from typing import Annotated

import typer

from seatwise.accounts import service as accounts
from seatwise.cli.common import Ctx, command, group, password_from_stdin
from seatwise.cli.output import Out

operators = group("Operators of this installation (the operator console).")


@command(operators, "add")
def operator_add(
    ctx: Ctx,
    email: Annotated[str, typer.Option(help="E-mail address, unique.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> Out:
    """Add an operator who signs in to the operator console; the password is read from stdin."""
    password = password_from_stdin()
    with ctx.uow() as session:
        op = accounts.add_operator(session, email=email, name=name, password=password, now=ctx.now)
        return Out({"id": op.id, "email": op.email, "name": op.name})
