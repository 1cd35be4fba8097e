"""The event outbox over the JSON API: what changed, oldest first, for polling or catching up."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from seatwise.deps import DB, Caller, Page, Pages, page_of
from seatwise.events import service
from seatwise.events.schemas import EventOut

router = APIRouter(prefix="/v1/events", tags=["events"])


@router.get("", operation_id="listEvents", response_model=Page[EventOut])
def list_events(
    caller: Caller,
    session: DB,
    paging: Pages,
    type: Annotated[str | None, Query(max_length=40, description="Only events of this type")] = None,
) -> Page[EventOut]:
    """The caller's organisation's events (every organisation's for the operator), oldest first."""
    rows = service.list_events(
        session, org_id=None if caller.is_operator else caller.org_id, after=paging.after, limit=paging.fetch, type=type
    )
    return page_of(rows, paging, lambda events: [EventOut.of(e) for e in events])
