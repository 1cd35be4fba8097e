"""Payment methods over the JSON API (Global and Billing admins, R9)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import Field

from seatwise import db
from seatwise.core.roles import Permission, require
from seatwise.deps import DB, Body, Caller, Id, Page, Pages, answer, page_of
from seatwise.organizations.service import check_visible_org, get_org
from seatwise.payments import service
from seatwise.payments.gateways import gateway_for
from seatwise.payments.schemas import PaymentMethodOut

router = APIRouter(prefix="/v1/organizations/{org_id}/payment-methods", tags=["payments"])


@router.get("", operation_id="listPaymentMethods", response_model=Page[PaymentMethodOut])
def list_payment_methods(caller: Caller, session: DB, org_id: Id, paging: Pages) -> Page[PaymentMethodOut]:
    """The organisation's payment methods, newest first (the newest usable one is charged); any admin sees
    them, as on the admin center's Bills & payments, and only Global and Billing admins add them (R9)."""
    check_visible_org(org_id=org_id, actor=caller)
    get_org(session, org_id=org_id)
    require(caller, Permission.VIEW, org_id)
    rows = service.list_payment_methods(session, org_id=org_id, after=paging.after, limit=paging.fetch)
    return page_of(rows, paging, lambda methods: [PaymentMethodOut.of(m) for m in methods])


class PaymentMethodIn(Body):
    card: str | None = Field(default=None, max_length=40)  # test cards: 4242 4242 4242 4242, 4000 0000 0000 0002
    exp: str | None = Field(default=None, max_length=10)  # MM/YY
    payment_method: str | None = Field(default=None, max_length=100)  # made by the gateway's own page (Stripe: pm_…)
    invoice: bool = False  # pay by bank transfer against invoices instead of a card


@router.post("", operation_id="createPaymentMethod", response_model=PaymentMethodOut, status_code=201)
def add_payment_method(caller: Caller, org_id: Id, body: PaymentMethodIn, request: Request) -> Response:
    """Add a card (`card` and `exp`; with Stripe in live mode `payment_method`, made by Stripe's own page) or
    pay-by-invoice (`invoice: true`). The gateway keeps the card before anything is written."""
    check_visible_org(org_id=org_id, actor=caller)
    url, now = request.app.state.database_url, request.app.state.clock.now()
    with db.read_only(url) as session:
        wanted = service.card_request(
            session,
            org_id=org_id,
            card_number=body.card,
            expiry=body.exp,
            payment_method=body.payment_method,
            invoice=body.invoice,
            actor=caller,
            now=now,
        )
    saved = service.save_card(gateway_for(url), wanted)
    with db.unit_of_work(url) as session:
        method = service.add_payment_method(session, org_id=org_id, card=saved, actor=caller, now=now)
        session.flush()
        return answer(session, request, PaymentMethodOut.of(method), status=201)
