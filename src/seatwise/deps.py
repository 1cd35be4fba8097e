"""FastAPI dependencies shared by the JSON API's routers: the database session and who is calling."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from seatwise import db
from seatwise.apikeys import service as apikeys
from seatwise.core.errors import ErrorCode, SeatwiseError
from seatwise.core.roles import Actor

MAX_ID = 2**31 - 1  # an id beyond what the database stores names nothing
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
T = TypeVar("T")


class Unauthenticated(SeatwiseError):
    """No API key, or one that is wrong or revoked."""

    code = ErrorCode.UNAUTHENTICATED
    status = 401


async def read_session(request: Request) -> AsyncIterator[Session]:
    """A read-only session on the app's database for one request.

    Async only so that opening and closing it skip two trips through the thread pool: a session
    touches the database first in a query, which runs in the sync route's thread."""
    with db.read_only(request.app.state.database_url) as session:
        yield session


def api_actor(request: Request, session: Annotated[Session, Depends(read_session)]) -> Actor:
    """Who calls, from `Authorization: Bearer <key>`: the operator, or an admin of one organisation (R9)."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthenticated("missing API key: expected the header Authorization: Bearer <key>")
    actor = apikeys.actor_for(session, key=key.strip())
    # The read session is the route's too; ending its transaction here gives its connection back, so a
    # write route's own transaction never runs beside an idle one.
    session.rollback()
    if actor is None:
        raise Unauthenticated("unknown or revoked API key: expected a key the operator created")
    return actor


Caller = Annotated[Actor, Depends(api_actor)]
DB = Annotated[Session, Depends(read_session)]


@dataclass(frozen=True)
class Paging:
    """Which page a list request asks for: the items after the cursor's, at most `limit` of them."""

    after: int | None
    limit: int

    @property
    def fetch(self) -> int:
        return self.limit + 1  # one more than shown tells whether another page follows


async def paging(  # no I/O: async keeps it out of the thread pool
    cursor: Annotated[
        str | None,
        Query(pattern=r"^[1-9][0-9]{0,9}$", description="`next_cursor` of the page before; absent for the first"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page")] = 50,
) -> Paging:
    """The cursor and page size of a list request."""
    # A cursor beyond the largest id has nothing after it (and must not overflow an integer column).
    return Paging(after=min(int(cursor), MAX_ID) if cursor else None, limit=limit)


Pages = Annotated[Paging, Depends(paging)]


class Body(BaseModel):
    """A request body: unknown fields are refused, and values must have their declared JSON type
    (no "3" for 3, no 0 for false), so that a typo never passes for something else."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Page(BaseModel, Generic[T]):
    """One page of a list; `next_cursor` fetches the next, and is null on the last page."""

    data: list[T]
    next_cursor: str | None


def page_of(rows: Sequence[Any], paging: Paging, out: Callable[[Sequence[Any]], list[T]]) -> Page[T]:
    """A page of `rows` (fetched with `paging.fetch`), shown through `out`."""
    shown = rows[: paging.limit]
    more = len(rows) > paging.limit
    return Page(data=out(shown), next_cursor=str(shown[-1].id) if more else None)
