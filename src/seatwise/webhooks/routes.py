"""Webhook endpoints over the JSON API: the operator's, or a Global admin's for their organisation."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import Field

from seatwise import db
from seatwise.deps import DB, MAX_ID, Body, Caller, Id, Page, Pages, answer, page_of
from seatwise.organizations.service import check_visible_org
from seatwise.webhooks import service
from seatwise.webhooks.schemas import AttemptOut, DeliveryOut, EndpointDetailOut, EndpointOut, NewEndpointOut

router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhooks"])


@router.get("", operation_id="listWebhookEndpoints", response_model=Page[EndpointOut])
def list_endpoints(caller: Caller, session: DB, paging: Pages) -> Page[EndpointOut]:
    """The endpoints events are sent to, oldest first, with their state: enabled, or disabled and why."""
    rows = service.list_endpoints(session, actor=caller, after=paging.after, limit=paging.fetch)
    return page_of(rows, paging, lambda endpoints: [EndpointOut.of(e) for e in endpoints])


class EndpointIn(Body):
    url: str = Field(max_length=2000)
    org_id: int | None = Field(default=None, ge=1, le=MAX_ID)  # default: the key's organisation; operator: all


@router.post("", operation_id="createWebhookEndpoint", response_model=NewEndpointOut, status_code=201)
def add_endpoint(caller: Caller, body: EndpointIn, request: Request) -> Response:
    """Send events to `url`, signed with the secret in the answer (shown this once). The URL must be https
    to a public address, unless the operator allows its host (SEATWISE_WEBHOOK_ALLOW)."""
    org_id = body.org_id if caller.is_operator else (body.org_id or caller.org_id)
    if org_id is not None:
        check_visible_org(org_id=org_id, actor=caller)
    with db.unit_of_work(request.app.state.database_url) as session:
        endpoint = service.add_endpoint(
            session, org_id=org_id, url=body.url, actor=caller, now=request.app.state.clock.now()
        )
        return answer(session, request, NewEndpointOut.of(endpoint), status=201)


@router.get("/{endpoint_id}", operation_id="getWebhookEndpoint", response_model=EndpointDetailOut)
def get_endpoint(caller: Caller, session: DB, endpoint_id: Id) -> EndpointDetailOut:
    """One endpoint with its state and its latest attempts (status, latency, error), newest first."""
    endpoint = service.get_endpoint(session, endpoint_id=endpoint_id, actor=caller)
    return EndpointDetailOut.with_attempts(endpoint, service.recent_attempts(session, endpoint_id=endpoint.id))


@router.get("/{endpoint_id}/attempts", operation_id="listWebhookAttempts", response_model=Page[AttemptOut])
def list_attempts(caller: Caller, session: DB, endpoint_id: Id, paging: Pages) -> Page[AttemptOut]:
    """An endpoint's delivery attempts, newest first; the cursor pages to older ones."""
    endpoint = service.get_endpoint(session, endpoint_id=endpoint_id, actor=caller)
    rows = service.recent_attempts(session, endpoint_id=endpoint.id, before=paging.after, limit=paging.fetch)
    return page_of(rows, paging, lambda attempts: [AttemptOut.of(a) for a in attempts])


@router.delete("/{endpoint_id}", operation_id="removeWebhookEndpoint", status_code=204)
def delete_endpoint(caller: Caller, endpoint_id: Id, request: Request) -> Response:
    """Stop sending to an endpoint and forget it with its deliveries and attempts."""
    with db.unit_of_work(request.app.state.database_url) as session:
        service.delete_endpoint(session, endpoint_id=endpoint_id, actor=caller, now=request.app.state.clock.now())
        return answer(session, request, None, status=204)


class EnabledIn(Body):
    enabled: bool


@router.put("/{endpoint_id}/enabled", operation_id="setWebhookEndpointEnabled", response_model=EndpointOut)
def set_enabled(caller: Caller, endpoint_id: Id, body: EnabledIn, request: Request) -> Response:
    """Disable an endpoint (nothing is sent to it meanwhile) or enable it again."""
    with db.unit_of_work(request.app.state.database_url) as session:
        endpoint = service.set_enabled(
            session, endpoint_id=endpoint_id, enabled=body.enabled, actor=caller, now=request.app.state.clock.now()
        )
        return answer(session, request, EndpointOut.of(endpoint))


@router.post(
    "/{endpoint_id}/secret-rotation", operation_id="rotateWebhookSecret", response_model=NewEndpointOut, status_code=201
)
def rotate_secret(caller: Caller, endpoint_id: Id, request: Request) -> Response:
    """A new signing secret, shown this once in `secret`; the old one still signs for 24 hours."""
    with db.unit_of_work(request.app.state.database_url) as session:
        endpoint = service.rotate_secret(
            session, endpoint_id=endpoint_id, actor=caller, now=request.app.state.clock.now()
        )
        return answer(session, request, NewEndpointOut.of(endpoint), status=201)


class ResendIn(Body):
    event_id: int = Field(ge=1, le=MAX_ID)


@router.post("/{endpoint_id}/resends", operation_id="resendWebhookEvent", response_model=DeliveryOut, status_code=201)
def resend(caller: Caller, endpoint_id: Id, body: ResendIn, request: Request) -> Response:
    """Send one event to the endpoint again (or for the first time) as soon as its earlier events are through."""
    with db.unit_of_work(request.app.state.database_url) as session:
        delivery = service.resend(
            session, endpoint_id=endpoint_id, event_id=body.event_id, actor=caller, now=request.app.state.clock.now()
        )
        session.flush()
        return answer(session, request, DeliveryOut.of(delivery), status=201)
