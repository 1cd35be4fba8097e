"""FastAPI dependencies shared by the JSON API's routers: the database session and who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Path, Request
from sqlalchemy.orm import Session

from seatwise import db
from seatwise.apikeys import service as apikeys
from seatwise.core.errors import SeatwiseError
from seatwise.core.roles import Actor

MAX_ID = 2**31 - 1  # an id beyond what the database stores names nothing
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


class Unauthenticated(SeatwiseError):
    """No API key, or one that is wrong or revoked."""

    code = "unauthenticated"
    status = 401


def read_session(request: Request) -> Iterator[Session]:
    """A read-only session on the app's database for one request."""
    with db.read_only(request.app.state.database_url) as session:
        yield session


def api_actor(request: Request) -> Actor:
    """Who calls, from `Authorization: Bearer <key>`: the operator, or an admin of one organisation (R9)."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthenticated("missing API key: expected the header Authorization: Bearer <key>")
    with db.read_only(request.app.state.database_url) as session:
        actor = apikeys.actor_for(session, key=key.strip())
    if actor is None:
        raise Unauthenticated("unknown or revoked API key: expected a key from `seatwise apikey create`")
    return actor
