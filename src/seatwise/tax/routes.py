"""An organisation's billing profile over the JSON API (R23): Global and Billing admins edit it, admins read it."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import Field

from seatwise import db
from seatwise.core.roles import Permission
from seatwise.deps import DB, Body, Caller, Id, answer
from seatwise.tax import service
from seatwise.tax.schemas import BillingProfileOut

router = APIRouter(prefix="/v1", tags=["organizations"])


@router.get(
    "/organizations/{org_id}/billing-profile", operation_id="getBillingProfile", response_model=BillingProfileOut
)
def get_billing_profile(caller: Caller, session: DB, org_id: Id) -> BillingProfileOut:
    """The organisation's current billing profile; 404 `no_billing_profile` before one is set."""
    service.check_may(caller, org_id=org_id, permission=Permission.VIEW)
    return BillingProfileOut.of(service.billing_profile(session, org_id=org_id))


class BillingProfileIn(Body):
    legal_name: str
    address_line: str
    postcode: str
    city: str
    country: str  # ISO 3166-1 alpha-2, such as NL
    vat_id: str | None = None  # an EU one must be valid for the country
    po_number: str | None = None  # at most 100 characters
    exempt_reason: str | None = None  # set: exempt from VAT (0 %) for this reason
    invoice_emails: list[str] = Field(default_factory=list)  # at most 5
    invoice_language: str = "en"  # en or nl


@router.put(
    "/organizations/{org_id}/billing-profile", operation_id="setBillingProfile", response_model=BillingProfileOut
)
def set_billing_profile(caller: Caller, org_id: Id, body: BillingProfileIn, request: Request) -> Response:
    """Replace the organisation's billing profile (a new version; issued invoices keep the one they name)."""
    service.check_may(caller, org_id=org_id, permission=Permission.MANAGE_BILLING)
    with db.unit_of_work(request.app.state.database_url) as session:
        profile = service.set_billing_profile(
            session,
            org_id=org_id,
            **body.model_dump(),
            actor_label=caller.label,
            now=request.app.state.clock.now(),
        )
        session.flush()
        return answer(session, request, BillingProfileOut.of(profile))
