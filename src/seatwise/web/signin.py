"""Signing in and out, of the admin center and of the operator console (throttled, R9)."""

from __future__ import annotations

import math
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from seatwise.accounts import service as accounts
from seatwise.core.errors import Refused
from seatwise.core.signin import Throttle
from seatwise.i18n import N_
from seatwise.web import auth
from seatwise.web.pages import (
    TextForm,
    any_form,
    anyone_signed_in,
    client_of,
    now,
    reading,
    render,
    same_site_path,
    text_fields,
    writing,
)

router = APIRouter(include_in_schema=False)


def signin_page(
    request: Request,
    *,
    operator: bool,
    error: str | None = None,
    error_params: dict[str, object] | None = None,
    status: int = 200,
    email: str = "",
    back_to: str | None = None,
) -> HTMLResponse:
    """The sign-in form of the admin center or of the operator console, with a fresh sign-in cookie."""
    nonce = secrets.token_urlsafe(24)
    with reading(request) as session:
        token = auth.signin_form_token(session, nonce=nonce, now=now(request))
    back_to = back_to or same_site_path(request.query_params.get("next"), request) or ""
    response = render(
        request,
        "signin.html",
        who=None,
        status=status,
        operator=operator,
        error=error,
        error_params=error_params or {},
        email=email,
        form_token=token,
        next=back_to,
    )
    response.set_cookie(
        auth.SIGNIN_COOKIE,
        nonce,
        max_age=int(auth.FORM_LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


def signin(request: Request, form: TextForm, *, operator: bool) -> Response:
    """Check the form and the password; on success set the session cookie and go on."""
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    target = same_site_path(form.get("next"), request)
    nonce = request.cookies.get(auth.SIGNIN_COOKIE)
    with reading(request) as session:
        token_ok = auth.signin_form_token_ok(session, sent=form.get("form_token"), nonce=nonce, now=now(request))
    if not token_ok or nonce is None:
        return _form_expired(request, operator=operator, email=email, target=target)
    url, at = request.app.state.database_url, now(request)
    try:
        outcome = auth.sign_in(
            url, email=email, password=password, operator=operator, client=client_of(request), now=at
        )
    except Refused as refused:
        assert isinstance(refused.detail, Throttle)
        seconds = max(1, math.ceil((refused.detail.retry_at - at).total_seconds()))
        response = signin_page(
            request,
            operator=operator,
            status=429,
            email=email,
            back_to=target,
            error=N_("Too many wrong passwords. Try again in a minute.")
            if seconds <= 60
            else N_("Too many wrong passwords. Try again in {minutes} minutes."),
            error_params={"minutes": math.ceil(seconds / 60)},
        )
        response.headers["Retry-After"] = str(seconds)
        return response
    if outcome is None:
        return signin_page(
            request,
            operator=operator,
            status=401,
            email=email,
            back_to=target,
            error=N_("Wrong e-mail address or password."),
        )
    if isinstance(outcome, accounts.Choose):
        # The sign-in cookie stays: the choice token is bound to it, and signing in replaces it.
        choice = auth.choice_token(url, nonce=nonce, choose=outcome, now=at)
        return render(
            request, "signin_choice.html", who=None, choices=outcome.choices, choice_token=choice, next=target or ""
        )
    return _signed_in(request, outcome, target or ("/operator" if operator else "/"))


def _form_expired(request: Request, *, operator: bool, email: str, target: str | None) -> HTMLResponse:
    return signin_page(
        request,
        operator=operator,
        status=403,
        email=email,
        back_to=target,
        error=N_("This form has expired. Please sign in again."),
    )


def _signed_in(request: Request, cookie: str, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        auth.COOKIE,
        cookie,
        max_age=int(auth.LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(auth.SIGNIN_COOKIE, path="/")
    return response


@router.post("/signin/organization")
def signin_choose(request: Request, form: Annotated[TextForm, Depends(text_fields)]) -> Response:
    """Sign in to the organisation picked among those whose account the password opened."""
    target = same_site_path(form.get("next"), request)
    cookie = auth.sign_in_chosen(
        request.app.state.database_url,
        sent=form.get("choice_token"),
        nonce=request.cookies.get(auth.SIGNIN_COOKIE),
        user_id=str(form.get("user_id", "")),
        client=client_of(request),
        now=now(request),
    )
    if cookie is None:
        return _form_expired(request, operator=False, email="", target=target)
    return _signed_in(request, cookie, target or "/")


@router.get("/signin")
def signin_form(request: Request) -> HTMLResponse:
    """The customer admins' sign-in form."""
    return signin_page(request, operator=False)


@router.post("/signin")
def signin_post(request: Request, form: Annotated[TextForm, Depends(text_fields)]) -> Response:
    """Sign a customer admin in."""
    return signin(request, form, operator=False)


@router.post("/signout")
def signout(
    request: Request,
    who: Annotated[auth.Principal | None, Depends(anyone_signed_in)],
    _form: Annotated[TextForm, Depends(any_form)],
) -> Response:
    """End the session (customer admin or operator) and go back to sign-in."""
    if who is not None:
        with writing(request) as session:
            auth.sign_out(session, cookie=request.cookies.get(auth.COOKIE))
    response = RedirectResponse("/operator/signin" if who and who.actor.is_operator else "/signin", status_code=303)
    response.delete_cookie(auth.COOKIE, path="/")
    return response
