"""What every admin center page shares: templates, language, who is signed in, forms and errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from typing import Annotated, Any, cast
from urllib.parse import quote, urlsplit

from babel import negotiate_locale
from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session
from starlette.datastructures import ImmutableMultiDict

from seatwise import db
from seatwise.billing import charges
from seatwise.core.errors import BadInput, ErrorCode, SeatwiseError
from seatwise.core.money import Money
from seatwise.core.roles import Permission, may, may_manage_user
from seatwise.core.signin import client_address
from seatwise.deps import MAX_ID
from seatwise.i18n import LOCALES, N_, format_day, format_day_range, format_money, gettext
from seatwise.web import auth
from seatwise.web.errors import ERROR_TEXT

TEMPLATES = Environment(
    loader=PackageLoader("seatwise.web"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class SignInRequired(Exception):
    """No valid session: the page sends the browser to the sign-in form."""

    def __init__(self, *, operator: bool):
        self.operator = operator


class FormRefused(SeatwiseError):
    """A form without this session's CSRF token: forged, or older than the session."""

    code = ErrorCode.CSRF_TOKEN_INVALID
    status = 403


def now(request: Request) -> datetime:
    """The app's clock (R19)."""
    return request.app.state.clock.now()


@contextmanager
def reading(request: Request) -> Iterator[Session]:
    """A read-only session for a page."""
    with db.read_only(request.app.state.database_url) as session:
        yield session


SEEN_DUE = "seen_due"  # request.state's flag: this post's unit of work also writes the session's last use


@contextmanager
def writing(request: Request) -> Iterator[Session]:
    """The one unit of work of a form post: committed whole, or not at all."""
    with db.unit_of_work(request.app.state.database_url) as session:
        if getattr(request.state, SEEN_DUE, False):
            setattr(request.state, SEEN_DUE, False)
            auth.seen(session, cookie=request.cookies.get(auth.COOKIE), now=now(request))
        yield session


def language(request: Request, who: auth.Principal | None) -> str:
    """The signed-in person's chosen language, else the browser's (Accept-Language), else English."""
    if who is not None and who.locale in LOCALES:
        return who.locale
    wanted = [
        part.split(";")[0].strip().replace("-", "_")
        for part in request.headers.get("accept-language", "").split(",")
        if part.strip()
    ]
    return negotiate_locale(wanted, list(LOCALES), sep="_") or (
        next((w.split("_")[0] for w in wanted if w.split("_")[0] in LOCALES), "en")
    )


def signed_in(request: Request) -> auth.Principal:
    """The customer admin of this request, or SignInRequired."""
    return _principal(request, operator=False)


def operator_signed_in(request: Request) -> auth.Principal:
    """The operator of this request, or SignInRequired."""
    return _principal(request, operator=True)


def anyone_signed_in(request: Request) -> auth.Principal | None:
    """The customer admin or operator of this request, if any (sign-out and the language work for both)."""
    with reading(request) as session:
        who = auth.principal(session, cookie=request.cookies.get(auth.COOKIE), now=now(request))
    if who is not None and who.seen_due:  # the idle timeout starts again, written at most once a minute
        if request.method == "POST":
            # With the form's own change, so that a post commits once; a post that writes nothing (a form
            # refused before its unit of work) leaves the last use as it was, a minute or so older.
            setattr(request.state, SEEN_DUE, True)
        else:
            with writing(request) as session:
                auth.seen(session, cookie=request.cookies.get(auth.COOKIE), now=now(request))
    request.state.who = who
    return who


def client_of(request: Request) -> str:
    """The client address sign-in throttles: the peer, or what a trusted proxy says it forwarded for."""
    return client_address(
        peer=request.client.host if request.client else None,
        forwarded_for=request.headers.getlist("x-forwarded-for"),
        trusted=request.app.state.trusted_proxies,
    )


def _principal(request: Request, *, operator: bool) -> auth.Principal:
    who = anyone_signed_in(request)
    if who is None or who.actor.is_operator != operator:
        raise SignInRequired(operator=operator)
    return who


# A posted form as text_fields answers it: a FormData whose values are all text, as files are refused.
TextForm = ImmutableMultiDict[str, str]


async def text_fields(request: Request) -> TextForm:
    """A posted form of text fields only (alone: the sign-in form, which comes before a session)."""
    data = await request.form()
    if any(not isinstance(value, str) for _key, value in data.multi_items()):
        raise BadInput(
            "files cannot be sent to the admin center: expected text fields only", code=ErrorCode.INVALID_VALUE
        )
    if any("\x00" in f"{key}{value}" for key, value in data.multi_items()):
        raise BadInput("a field holds a NUL byte: expected text without one", code=ErrorCode.INVALID_VALUE)
    return cast(TextForm, data)


async def form_of(request: Request, who: auth.Principal) -> TextForm:
    """The posted form, refused unless it carries the session's CSRF token."""
    data = await text_fields(request)
    if not auth.csrf_ok(who.csrf_token, data.get("csrf_token")):
        raise FormRefused("this form is not from your current session: reload the page and try again")
    return data


async def admin_form(request: Request, who: Annotated[auth.Principal, Depends(signed_in)]) -> TextForm:
    """A customer admin's posted form, with its CSRF token checked (read here so that handlers need not be async)."""
    return await form_of(request, who)


Who = Annotated[auth.Principal, Depends(signed_in)]
Form = Annotated[TextForm, Depends(admin_form)]


def org_of(who: auth.Principal) -> int:
    """The organisation of the customer admin a page of `Who` is for, which an admin always has."""
    assert who.org_id is not None  # `signed_in` answers customer admins only, never the operator
    return who.org_id


def whole_number(text: str | None, *, field: str, code: ErrorCode = ErrorCode.INVALID_VALUE) -> int:
    """A whole number typed into a form or a link."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise BadInput(f"invalid {field} {text!r}: expected a whole number", code=code)
    return int(text)


async def operator_form(request: Request, who: Annotated[auth.Principal, Depends(operator_signed_in)]) -> TextForm:
    """An operator's posted form, with its CSRF token checked."""
    return await form_of(request, who)


async def any_form(request: Request, who: Annotated[auth.Principal | None, Depends(anyone_signed_in)]) -> TextForm:
    """A posted form of whoever is signed in (checked against their session's token), or of nobody."""
    return await form_of(request, who) if who is not None else await text_fields(request)


# Page numbers, like ids (`seatwise.deps.Id`), stop at what the database stores.
Page = Annotated[int, Query(ge=1, le=MAX_ID)]


def render(
    request: Request, template: str, *, who: auth.Principal | None, status: int = 200, **context: Any
) -> HTMLResponse:
    """A page in the reader's language, with what their role lets them do."""
    locale = language(request, who)
    actor, org_id = (who.actor, who.org_id) if who else (None, None)
    can = {
        "billing": actor is not None and org_id is not None and may(actor, Permission.MANAGE_BILLING, org_id),
        "users": actor is not None and org_id is not None and may(actor, Permission.MANAGE_USERS, org_id),
    }
    notice = DONE_TEXT.get(request.query_params.get("done", ""))
    html = TEMPLATES.get_template(template).render(
        request=request,
        who=who,
        locale=locale,
        can=can,
        path=request.url.path,
        notice=gettext(locale, notice) if notice else None,
        _=partial(gettext, locale),
        money=lambda amount, currency=None: format_money(
            amount if isinstance(amount, Money) else Money(amount, currency), locale
        ),
        day=lambda at: format_day(at, locale),
        days=lambda start, end: format_day_range(start, end, locale),
        line_text=lambda line: charges.describe(line, locale),  # an invoice line in the reader's words
        fill=lambda text, params: gettext(locale, text, **{k: _shown(v, locale) for k, v in params.items()}),
        # The operator, who has no organisation, may manage anyone (as may_manage_user says for them).
        may_manage_user=lambda role: (
            actor is not None and (actor.is_operator or (org_id is not None and may_manage_user(actor, role, org_id)))
        ),
        **context,
    )
    return HTMLResponse(html, status_code=status)


# What a form post did, named in the redirect (`?done=canceled`): only these texts can be shown.
DONE_TEXT = {
    "canceled": N_("Your subscription has been cancelled."),
    "licenses_changed": N_("The number of licences has been changed."),
    "recurring_on": N_("Recurring billing is on."),
    "recurring_off": N_("Recurring billing is off."),
    "reactivated": N_("The subscription has been reactivated."),
    "user_added": N_("The user has been added."),
    "user_removed": N_("The user has been removed. You can restore them within 30 days."),
    "user_restored": N_("The user has been restored."),
    "assigned": N_("The licence has been assigned."),
    "unassigned": N_("The licence has been unassigned."),
    "payment_method_added": N_("The payment method has been added."),
    "payment_method_removed": N_("The payment method has been removed."),
    "paid": N_("The invoice has been paid."),
    "payment_declined": N_("The card was declined. The attempt and its reason are shown below."),
    "payment_pending": N_("The payment is being processed. Look again in a moment."),
    "language_changed": N_("The language has been changed."),
    "billing_profile_saved": N_("The billing account has been saved."),
    "billing_notifications_saved": N_("The billing notification addresses have been saved."),
    "run_started": N_("The billing run has started."),
}


def same_site_path(url: str | None, request: Request) -> str | None:
    """The path (and query) of `url` when it is a page of this site."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.url.netloc:
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path if path.startswith("/") and not path.startswith(("//", "/\\")) else None


def _shown(value: object, locale: str) -> object:
    if isinstance(value, Money):
        return format_money(value, locale)
    if isinstance(value, datetime):
        return format_day(value, locale)
    return value


def done(url: str, what: str) -> RedirectResponse:
    """After a form post, back to a page (303, so that reloading does not post again), saying what happened."""
    assert what in DONE_TEXT, what
    return RedirectResponse(f"{url}{'&' if '?' in url else '?'}done={what}", status_code=303)


def sign_in_redirect(request: Request, exc: SignInRequired) -> RedirectResponse:
    """Send the browser to the right sign-in form, coming back afterwards to the page it was on."""
    if request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:  # a form posted after the session ended: back to the page that showed it
        target = same_site_path(request.headers.get("referer"), request) or "/"
    base = "/operator/signin" if exc.operator else "/signin"
    return RedirectResponse(f"{base}?next={quote(target)}", status_code=303)


def error_text(exc: SeatwiseError, locale: str) -> str:
    """What a person reads of an error: the words for its code in their language, else its message."""
    text = ERROR_TEXT.get(exc.code)
    return gettext(locale, text) if text else exc.message


def error_page(request: Request, exc: SeatwiseError) -> HTMLResponse:
    """A domain error as a page in the reader's language: what went wrong, and a way back."""
    who = getattr(request.state, "who", None)
    locale = language(request, who)
    message = error_text(exc, locale)
    # A cancellation refused for the role is a decision (409) to the API; to a browser it is "forbidden".
    status = 403 if exc.code == "not_authorized" else exc.status
    back = same_site_path(request.headers.get("referer"), request)
    return render(
        request,
        "error.html",
        who=who,
        status=status,
        message=message,
        code=exc.code,
        back=back if back != request.url.path else None,
    )
