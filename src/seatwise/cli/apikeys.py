"""`seatwise apikey`: keys of the HTTP API, shown once, stored as a hash."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from seatwise.apikeys import service as apikeys
from seatwise.apikeys.models import ApiKey
from seatwise.cli.common import Ctx, command, group
from seatwise.cli.output import Out

keys = group("Keys of the HTTP API.")


def _key_out(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "prefix": key.prefix,
        "org_id": key.org_id,
        "acts_as_user_id": key.user_id,
        "operator": key.user_id is None,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    }


@command(keys, "create")
def apikey_create(
    ctx: Ctx,
    operator: Annotated[bool, typer.Option("--operator", help="A key of the operator: every organisation.")] = False,
    org: Annotated[int | None, typer.Option(help="Organisation id (with --as).")] = None,
    as_: Annotated[int | None, typer.Option("--as", help="The admin (user id) the key acts as.")] = None,
) -> Out:
    """Make an API key and print it once; only its hash is kept."""
    with ctx.uow() as session:
        key, secret = apikeys.create(session, operator=operator, org_id=org, as_user=as_, now=ctx.now)
        session.flush()
        result = {**_key_out(key), "key": secret}
    return Out(result, text=f"API key {key.id} (shown once, keep it safe): {secret}")


@command(keys, "list")
def apikey_list(ctx: Ctx) -> Out:
    """List API keys (never the keys themselves)."""
    with ctx.read() as session:
        return Out([_key_out(k) for k in apikeys.list_keys(session)])


@command(keys, "revoke")
def apikey_revoke(ctx: Ctx, key_id: Annotated[int, typer.Argument(metavar="ID")]) -> Out:
    """Revoke an API key: it stops working at once."""
    with ctx.uow() as session:
        return Out(_key_out(apikeys.revoke(session, key_id=key_id, now=ctx.now)))
