"""FastAPI dependencies shared by the JSON API's routers: the database session and who is calling."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy.orm import Session

from seatwise import db
from seatwise.apikeys import service as apikeys
from seatwise.core.errors import ErrorCode, SeatwiseError
from seatwise.core.roles import Actor
from seatwise.idempotency import service as idempotency
from seatwise.idempotency.middleware import CLAIM, KEPT

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


def bearer_key(authorization: str) -> str | None:
    """The key of an `Authorization: Bearer <key>` header, or None."""
    scheme, _, key = authorization.partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None


def has_valid_key(url: str, authorization: str) -> bool:
    """Whether the header carries a key that works now (checked before any other work on a write)."""
    key = bearer_key(authorization)
    if key is None:
        return False
    with db.read_only(url) as session:
        return apikeys.actor_for(session, key=key) is not None


def api_actor(request: Request, session: Annotated[Session, Depends(read_session)]) -> Actor:
    """Who calls, from `Authorization: Bearer <key>`: the operator, or an admin of one organisation (R9)."""
    key = bearer_key(request.headers.get("authorization", ""))
    if key is None:
        raise Unauthenticated("missing API key: expected the header Authorization: Bearer <key>")
    actor = apikeys.actor_for(session, key=key)
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

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        # PostgreSQL cannot store a NUL in text: refused here as bad input, not met as a database error.
        if _holds_nul(data):
            raise ValueError("a text holds a NUL byte: expected text without one")
        return data


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


class Page(BaseModel, Generic[T]):
    """One page of a list; `next_cursor` fetches the next, and is null on the last page."""

    data: list[T]
    next_cursor: str | None


def page_of(rows: Sequence[Any], paging: Paging, out: Callable[[Sequence[Any]], list[T]]) -> Page[T]:
    """A page of `rows` (fetched with `paging.fetch`), shown through `out`."""
    shown = rows[: paging.limit]
    more = len(rows) > paging.limit
    return Page(data=out(shown), next_cursor=str(shown[-1].id) if more else None)


def answer(
    session: Session,
    request: Request,
    out: BaseModel | None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A write's answer, made inside its unit of work: under an Idempotency-Key it is kept in the same
    transaction as the change, so that a crash leaves both (a retry replays) or neither (a retry runs)."""
    body = b"" if out is None else out.model_dump_json().encode()
    content_type = None if out is None else "application/json"
    claim = getattr(request.state, CLAIM, None)
    if claim is not None:
        idempotency.keep(session, claim=claim, status=status, body=body, content_type=content_type, headers=headers)
        setattr(request.state, KEPT, status)
    return Response(body, status_code=status, media_type=content_type, headers=headers)
