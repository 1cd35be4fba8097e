"""The customer admin center: Home, Billing > Your products, subscription details, cancellation, users, bills."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from seatwise.accounts import service as accounts
from seatwise.core.cancellation import CANCEL_REASONS, Code
from seatwise.core.errors import BadInput, ErrorCode, Refused
from seatwise.core.roles import Role
from seatwise.deps import MAX_ID, Id
from seatwise.licenses import service as licenses
from seatwise.organizations import service as organizations
from seatwise.payments import service as payments
from seatwise.subscriptions import service as subscriptions
from seatwise.subscriptions.models import Subscription
from seatwise.web import auth, views
from seatwise.web.pages import (
    Form,
    Page,
    TextForm,
    Who,
    any_form,
    anyone_signed_in,
    done,
    now,
    org_of,
    reading,
    render,
    same_site_path,
    whole_number,
    writing,
)

router = APIRouter(include_in_schema=False)


def _back(form: TextForm, request: Request, default: str) -> str:
    """Where a form sends the browser afterwards: the page it names, if it is one of this site."""
    return same_site_path(form.get("back"), request) or default


@router.post("/language")
def set_language(
    request: Request,
    who: Annotated[auth.Principal | None, Depends(anyone_signed_in)],
    form: Annotated[TextForm, Depends(any_form)],
) -> Response:
    """Remember the signed-in person's language for every page."""
    if who is None:
        return RedirectResponse("/signin", status_code=303)
    with writing(request) as session:
        accounts.set_language(session, who=who, locale=str(form.get("locale", "")), now=now(request))
    return done(_back(form, request, "/"), "language_changed")


# --- home and Billing > Your products -------------------------------------------------------


@router.get("/")
def home(request: Request, who: Who) -> HTMLResponse:
    """What needs the admin's attention."""
    with reading(request) as session:
        org = organizations.get_org(session, org_id=org_of(who))
        items = views.attention(session, org_id=org_of(who), now=now(request))
    return render(request, "home.html", who=who, org=org, items=items)


@router.get("/billing/products")
def products(request: Request, who: Who, page: Page = 1) -> HTMLResponse:
    """Billing > Your products: one row per subscription."""
    with reading(request) as session:
        listing = views.product_rows(session, org_id=org_of(who), now=now(request), page=page)
    return render(request, "products.html", who=who, listing=listing)


def _visible(session: Session, who: auth.Principal, sub_id: int) -> Subscription:
    return subscriptions.get_visible(session, sub_id=sub_id, actor=who.actor)


@router.get("/billing/subscriptions/{sub_id}")
def subscription(request: Request, who: Who, sub_id: Id) -> HTMLResponse:
    """A subscription's key dates, licences, and Settings & Actions."""
    with reading(request) as session:
        row = views.row(session, sub=_visible(session, who, sub_id), now=now(request))
        credits = views.pending_credits(session, org_id=org_of(who), sub_id=sub_id)
        methods = payments.list_payment_methods(session, org_id=org_of(who))
    return render(
        request, "subscription.html", who=who, row=row, timeline=views.timeline(row), credits=credits, methods=methods
    )


@router.get("/billing/subscriptions/{sub_id}/licenses")
def licenses_preview(request: Request, who: Who, sub_id: Id, total: str = "") -> HTMLResponse:
    """The prorated charge or credit of a new licence count, shown before the admin confirms it."""
    with reading(request) as session:
        plan = licenses.preview_total(
            session,
            sub_id=sub_id,
            total=whole_number(total, field="licences", code=ErrorCode.INVALID_SEATS),
            actor=who.actor,
            now=now(request),
        )
        row = views.row(session, sub=plan.subscription, now=now(request))
    return render(request, "licenses.html", who=who, row=row, plan=plan)


@router.post("/billing/subscriptions/{sub_id}/licenses")
def licenses_set(request: Request, who: Who, form: Form, sub_id: Id) -> Response:
    """Buy or remove licences, at the amount the preview showed (R10: the preview and the change agree)."""
    total = whole_number(form.get("total"), field="licences", code=ErrorCode.INVALID_SEATS)
    shown = form.get("amount")
    with writing(request) as session:
        plan = licenses.set_total(session, sub_id=sub_id, total=total, actor=who.actor, now=now(request))
        if shown is not None and plan.proration is not None and str(plan.proration.amount.amount) != shown:
            raise Refused(
                "the prorated amount changed since the preview: review it again", code=ErrorCode.PRICE_CHANGED
            )
    return done(f"/billing/subscriptions/{sub_id}", "licenses_changed")


@router.post("/billing/subscriptions/{sub_id}/recurring-billing")
def recurring_billing(request: Request, who: Who, form: Form, sub_id: Id) -> Response:
    """Turn recurring billing on or off."""
    enabled = form.get("enabled") == "on"
    with writing(request) as session:
        subscriptions.set_recurring_billing(session, sub_id=sub_id, enabled=enabled, actor=who.actor, now=now(request))
    return done(f"/billing/subscriptions/{sub_id}", "recurring_on" if enabled else "recurring_off")


@router.post("/billing/subscriptions/{sub_id}/reactivate")
def reactivate(request: Request, who: Who, _form: Form, sub_id: Id) -> Response:
    """Reactivate an expired or disabled subscription (R6)."""
    with writing(request) as session:
        subscriptions.reactivate(session, sub_id=sub_id, actor=who.actor, now=now(request))
    return done(f"/billing/subscriptions/{sub_id}", "reactivated")


# --- Cancel subscription (R7–R10) --------------------------------------------------------------


@router.get("/billing/subscriptions/{sub_id}/cancel")
def cancel_page(request: Request, who: Who, sub_id: Id) -> HTMLResponse:
    """The decision of R10 in plain words: why not and what to do, or what cancelling now means."""
    with reading(request) as session:
        sub = _visible(session, who, sub_id)
        row = views.row(session, sub=sub, now=now(request))
        decision = subscriptions.cancellation_decision(session, sub=sub, actor=who.actor, now=now(request))
    return render(request, "cancel.html", who=who, row=row, decision=decision, Code=Code, reasons=CANCEL_REASONS)


@router.post("/billing/subscriptions/{sub_id}/cancel")
def cancel(request: Request, who: Who, form: Form, sub_id: Id) -> Response:
    """Cancel, if the decision still allows it."""
    comment = form.get("comment", "").strip() or None
    with writing(request) as session:
        subscriptions.cancel(
            session,
            sub_id=sub_id,
            actor=who.actor,
            now=now(request),
            reason=form.get("reason") or None,
            comment=comment,
        )
    return done(f"/billing/subscriptions/{sub_id}", "canceled")


# --- users and licence assignments ---------------------------------------------------------------


@router.get("/users")
def users(
    request: Request,
    who: Who,
    page: Page = 1,
    q: str = "",
    sub: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    removed: bool = False,
) -> HTMLResponse:
    """Active users with their licences, or the users removed in the last 30 days."""
    with reading(request) as session:
        listing = views.user_page(
            session, org_id=org_of(who), page=page, now=now(request), query=q.strip()[:100], sub_id=sub, removed=removed
        )
        choices = views.assignable(session, org_id=org_of(who))
    filtered = next((c for c in choices if c.id == sub), None)
    return render(
        request,
        "users.html",
        who=who,
        listing=listing,
        q=q,
        sub=sub,
        filtered=filtered,
        removed=removed,
        assignable=choices,
        roles=list(Role),
        Role=Role,
    )


@router.post("/users")
def add_user(request: Request, who: Who, form: Form) -> Response:
    """Add a user to the organisation."""
    with writing(request) as session:
        organizations.add_user(
            session,
            org_id=org_of(who),
            email=form.get("email", ""),
            name=form.get("name", "").strip() or None,
            role=form.get("role", "user"),
            actor=who.actor,
            now=now(request),
        )
    return done("/users", "user_added")


@router.post("/users/{user_id}/remove")
def remove_user(request: Request, who: Who, _form: Form, user_id: Id) -> Response:
    """Remove a user; their licences are freed, and they can be restored for 30 days."""
    with writing(request) as session:
        organizations.get_visible_user(session, user_id=user_id, actor=who.actor)
        organizations.remove_user(session, user_id=user_id, actor=who.actor, now=now(request))
    return done("/users", "user_removed")


@router.post("/users/{user_id}/restore")
def restore_user(request: Request, who: Who, _form: Form, user_id: Id) -> Response:
    """Restore a user removed in the last 30 days."""
    with writing(request) as session:
        organizations.get_visible_user(session, user_id=user_id, actor=who.actor)
        organizations.restore_user(session, user_id=user_id, actor=who.actor, now=now(request))
    return done("/users?removed=true", "user_restored")


@router.post("/users/licenses")
def assign(request: Request, who: Who, form: Form) -> Response:
    """Assign a licence of one subscription to each selected user, all or none."""
    sub_id = whole_number(form.get("subscription"), field="subscription")
    user_ids = [whole_number(value, field="user") for value in form.getlist("user_id")]
    if not user_ids:
        raise BadInput("no users selected: expected at least one", code=ErrorCode.NO_USERS_SELECTED)
    with writing(request) as session:
        for user_id in user_ids:
            organizations.get_visible_user(session, user_id=user_id, actor=who.actor)
            licenses.assign(session, sub_id=sub_id, user_id=user_id, actor=who.actor, now=now(request))
    return done(_back(form, request, "/users"), "assigned")


@router.post("/users/{user_id}/licenses/{sub_id}/unassign")
def unassign(request: Request, who: Who, form: Form, user_id: Id, sub_id: Id) -> Response:
    """Take a user's licence of a subscription back."""
    with writing(request) as session:
        organizations.get_visible_user(session, user_id=user_id, actor=who.actor)
        licenses.unassign(session, sub_id=sub_id, user_id=user_id, actor=who.actor, now=now(request))
    return done(_back(form, request, "/users"), "unassigned")
