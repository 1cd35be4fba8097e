"""Webhook endpoints over the JSON API: the operator's, or a Global admin's for their organisation."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import Field

from seatwise import db
from seatwise.deps import DB, MAX_ID, Body, Caller, Page, Pages, answer, page_of
from seatwise.organizations.service import check_visible_org
from seatwise.webhooks import service
from seatwise.webhooks.schemas import EndpointOut, NewEndpointOut

router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhooks"])


@router.get("", operation_id="listWebhookEndpoints", response_model=Page[EndpointOut])
def list_endpoints(caller: Caller, session: DB, paging: Pages) -> Page[EndpointOut]:
    """The endpoints events are sent to, oldest first."""
    rows = service.list_endpoints(session, actor=caller, after=paging.after, limit=paging.fetch)
    return page_of(rows, paging, lambda endpoints: [EndpointOut.of(e) for e in endpoints])


class EndpointIn(Body):
    url: str = Field(max_length=2000)
    org_id: int | None = Field(default=None, ge=1, le=MAX_ID)  # default: the key's organisation; operator: all


@router.post("", operation_id="createWebhookEndpoint", response_model=NewEndpointOut, status_code=201)
def add_endpoint(caller: Caller, body: EndpointIn, request: Request) -> Response:
    """Send events to `url`, signed with the secret in the answer (shown this once)."""
    org_id = body.org_id if caller.is_operator else (body.org_id or caller.org_id)
    if org_id is not None:
        check_visible_org(org_id=org_id, actor=caller)
    with db.unit_of_work(request.app.state.database_url) as session:
        endpoint = service.add_endpoint(
            session, org_id=org_id, url=body.url, actor=caller, now=request.app.state.clock.now()
        )
        return answer(session, request, NewEndpointOut.of(endpoint), status=201)
