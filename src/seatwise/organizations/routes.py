"""Organisations and their users over the JSON API: a key sees its own organisation only."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import Field

from seatwise import db
from seatwise.core.roles import Permission
from seatwise.deps import DB, Body, Caller, Id, Page, Pages, answer, page_of
from seatwise.organizations import notifications, service
from seatwise.organizations.schemas import BillingNotificationsOut, OrganizationOut, UserOut

router = APIRouter(prefix="/v1", tags=["organizations"])


@router.get("/organizations/{org_id}", operation_id="getOrganization", response_model=OrganizationOut)
def get_organization(caller: Caller, session: DB, org_id: Id) -> OrganizationOut:
    """One organisation; another one answers 404 as a missing one does."""
    service.check_visible_org(org_id=org_id, actor=caller)
    return OrganizationOut.of(service.get_org(session, org_id=org_id))


@router.get("/organizations/{org_id}/users", operation_id="listUsers", response_model=Page[UserOut])
def list_users(caller: Caller, session: DB, org_id: Id, paging: Pages) -> Page[UserOut]:
    """The organisation's users, removed ones included, oldest first."""
    service.check_visible_org(org_id=org_id, actor=caller)
    rows = service.list_users(session, org_id=org_id, after=paging.after, limit=paging.fetch)
    return page_of(rows, paging, lambda users: [UserOut.of(u) for u in users])


class UserIn(Body):
    email: str
    name: str | None = None
    role: str = "user"  # global_admin, billing_admin, user_admin or user


@router.post("/organizations/{org_id}/users", operation_id="createUser", response_model=UserOut, status_code=201)
def add_user(caller: Caller, org_id: Id, body: UserIn, request: Request) -> Response:
    """Add a user to the organisation (admins only by a Global admin, R9)."""
    service.check_visible_org(org_id=org_id, actor=caller)
    with db.unit_of_work(request.app.state.database_url) as session:
        user = service.add_user(
            session,
            org_id=org_id,
            email=body.email,
            name=body.name,
            role=body.role,
            actor=caller,
            now=request.app.state.clock.now(),
        )
        session.flush()
        return answer(session, request, UserOut.of(user), status=201)


@router.delete("/users/{user_id}", operation_id="removeUser", response_model=UserOut)
def remove_user(caller: Caller, user_id: Id, request: Request) -> Response:
    """Remove a user: their licences are freed, and they can be restored for 30 days (R13)."""
    with db.unit_of_work(request.app.state.database_url) as session:
        service.get_visible_user(session, user_id=user_id, actor=caller)
        user = service.remove_user(session, user_id=user_id, actor=caller, now=request.app.state.clock.now())
        return answer(session, request, UserOut.of(user))


@router.post("/users/{user_id}/restore", operation_id="restoreUser", response_model=UserOut)
def restore_user(caller: Caller, user_id: Id, request: Request) -> Response:
    """Restore a user removed in the last 30 days, with the licences that still have a free seat."""
    with db.unit_of_work(request.app.state.database_url) as session:
        service.get_visible_user(session, user_id=user_id, actor=caller)
        user = service.restore_user(session, user_id=user_id, actor=caller, now=request.app.state.clock.now())
        return answer(session, request, UserOut.of(user))


@router.get(
    "/organizations/{org_id}/billing-notifications",
    operation_id="getBillingNotifications",
    response_model=BillingNotificationsOut,
)
def get_billing_notifications(caller: Caller, session: DB, org_id: Id) -> BillingNotificationsOut:
    """The extra addresses billing e-mail goes to, beside the Global and Billing admins (R27)."""
    notifications.check_may(caller, org_id=org_id, permission=Permission.VIEW)
    return BillingNotificationsOut(org_id=org_id, emails=notifications.notification_addresses(session, org_id=org_id))


class BillingNotificationsIn(Body):
    emails: list[str] = Field(default_factory=list)  # at most 5; duplicates are left out


@router.put(
    "/organizations/{org_id}/billing-notifications",
    operation_id="setBillingNotifications",
    response_model=BillingNotificationsOut,
)
def set_billing_notifications(caller: Caller, org_id: Id, body: BillingNotificationsIn, request: Request) -> Response:
    """Replace the billing notification addresses (Global and Billing admins); each change is audited."""
    notifications.check_may(caller, org_id=org_id, permission=Permission.MANAGE_BILLING)
    with db.unit_of_work(request.app.state.database_url) as session:
        emails = notifications.set_addresses(
            session, org_id=org_id, emails=body.emails, actor_label=caller.label, now=request.app.state.clock.now()
        )
        return answer(session, request, BillingNotificationsOut(org_id=org_id, emails=emails))
