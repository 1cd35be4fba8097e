"""Bills & payments in the admin center: invoices with their payment attempts, Pay now, credit notes (R25),
payment methods; the organisation's billing account (R23) and billing notification addresses (R27)."""

from __future__ import annotations

import re
from functools import cache

from babel import Locale
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from seatwise.billing import collection, credit_notes, documents, jobs
from seatwise.billing import service as billing
from seatwise.billing.schemas import credit_note_breakdown
from seatwise.core.documents import LegalDocument
from seatwise.core.errors import BadInput
from seatwise.core.invoicing import InvoiceStatus, PaymentStatus
from seatwise.core.roles import Permission
from seatwise.core.vat import check_country
from seatwise.deps import Id
from seatwise.i18n import N_, gettext
from seatwise.organizations import notifications
from seatwise.organizations import service as organizations
from seatwise.payments import service as payments
from seatwise.payments.gateway import HARD_DECLINES
from seatwise.payments.gateways import gateway_for
from seatwise.subscriptions import service as subscriptions
from seatwise.tax import service as tax
from seatwise.web.pages import (
    Form,
    TextForm,
    Who,
    done,
    error_text,
    language,
    now,
    org_of,
    reading,
    render,
    same_site_path,
    whole_number,
    writing,
)

router = APIRouter(include_in_schema=False)


def _card(form: TextForm) -> dict[str, str | None]:
    """A new card as the form gives it: typed (the simulator, Stripe's test mode), or the id of a PaymentMethod
    that Stripe's own Elements made in the page (`payment_method`: live mode, where no number reaches us)."""
    if made := form.get("payment_method"):
        return {"card_number": None, "expiry": None, "payment_method": made}
    return {"card_number": form.get("card", ""), "expiry": form.get("expiry", ""), "payment_method": None}


@router.get("/billing/invoices")
def invoices(request: Request, who: Who) -> HTMLResponse:
    """Invoices and credit notes, newest first, and payment methods."""
    with reading(request) as session:
        rows = billing.list_invoices(session, org_id=org_of(who))
        notes = credit_notes.list_credit_notes(session, org_id=org_of(who))
        methods = payments.list_payment_methods(session, org_id=org_of(who))
        default = payments.usable_method_at(session, org_id=org_of(who), at=now(request))
    return render(
        request,
        "invoices.html",
        who=who,
        invoices=rows,
        credit_notes=notes,
        invoice_numbers={i.id: i.number for i in rows},
        methods=methods,
        default_id=default.id if default else None,
    )


@router.get("/billing/invoices/{invoice_id}")
def invoice(request: Request, who: Who, invoice_id: Id) -> HTMLResponse:
    """An invoice with its lines, its payment attempts and what happens next; Pay now while it is unpaid."""
    with reading(request) as session:
        found = billing.get_visible_invoice(session, invoice_id=invoice_id, actor=who.actor)
        lines = billing.lines_of(session, invoice_id=invoice_id)
        attempts = billing.attempts_by_invoice(session, invoice_ids=[invoice_id])[invoice_id]
        cards = payments.usable_cards_at(session, org_id=found.org_id, at=now(request))
        corrections = credit_notes.of_invoices(session, invoice_ids=[invoice_id])[invoice_id]
    failed = [p for p, _ in attempts if p.status == PaymentStatus.FAILED]
    return render(
        request,
        "invoice.html",
        who=who,
        invoice=found,
        lines=lines,
        vat=billing.vat_breakdown(lines),
        attempts=attempts,
        dunning=billing.dunning_dates(found),
        declined_for_good=bool(failed) and failed[-1].failure_code in HARD_DECLINES,
        payable=found.status == InvoiceStatus.OPEN,
        cards=cards,
        credit_notes=corrections,
    )


@router.post("/billing/invoices/{invoice_id}/pay")
def pay_now(request: Request, who: Who, form: Form, invoice_id: Id) -> Response:
    """Pay now: charge the card chosen, or a new card (saved first), and show how it went."""
    url, at = request.app.state.database_url, now(request)
    chosen = form.get("method", "")
    if chosen == "new":
        with reading(request) as session:
            billing.get_visible_invoice(session, invoice_id=invoice_id, actor=who.actor)
            wanted = payments.card_request(
                session, org_id=org_of(who), invoice=False, actor=who.actor, now=at, **_card(form)
            )
        saved = payments.save_card(gateway_for(url), wanted)
        with writing(request) as session:
            method_id: int | None = payments.add_payment_method(
                session, org_id=org_of(who), card=saved, actor=who.actor, now=at
            ).id
    else:
        method_id = whole_number(chosen, field="payment method") if chosen else None
    with writing(request) as session:
        collection.pay_now(session, invoice_id=invoice_id, method_id=method_id, actor=who.actor, now=at)
    jobs.collect(url, gateway=gateway_for(url), invoice_id=invoice_id)
    with reading(request) as session:
        status = billing.get_invoice(session, invoice_id=invoice_id).status
    what = {InvoiceStatus.PAID: "paid", InvoiceStatus.OPEN: "payment_declined"}.get(
        InvoiceStatus(status), "payment_pending"
    )
    return done(f"/billing/invoices/{invoice_id}", what)


@router.get("/billing/invoices/{invoice_id}/pdf")
def invoice_as_pdf(request: Request, who: Who, invoice_id: Id) -> Response:
    """The invoice as a PDF with its legal content (R26), in the organisation's invoice language."""
    return _invoice_file(request, who, invoice_id, format="pdf", disposition="inline")


@router.get("/billing/invoices/{invoice_id}/ubl")
def invoice_as_ubl(request: Request, who: Who, invoice_id: Id) -> Response:
    """The invoice as Peppol BIS 3.0 UBL XML (R26), to import into accounting software."""
    return _invoice_file(request, who, invoice_id, format="ubl", disposition="attachment")


def _invoice_file(request: Request, who: Who, invoice_id: int, *, format: str, disposition: str) -> Response:
    with reading(request) as session:
        billing.get_visible_invoice(session, invoice_id=invoice_id, actor=who.actor)
        doc = documents.invoice_document(session, invoice_id=invoice_id)
    return _download(doc, format=format, disposition=disposition)


@router.get("/billing/credit-notes/{credit_note_id}")
def credit_note(request: Request, who: Who, credit_note_id: Id) -> HTMLResponse:
    """A credit note (R25): its lines, VAT per rate and totals, the invoice it corrects, and where the money went."""
    with reading(request) as session:
        found = credit_notes.get_visible(session, credit_note_id=credit_note_id, actor=who.actor)
        lines = credit_notes.lines_of(session, credit_note_id=credit_note_id)
        corrects = billing.get_invoice(session, invoice_id=found.invoice_id)
    return render(
        request,
        "credit_note.html",
        who=who,
        note=found,
        lines=lines,
        vat=credit_note_breakdown(lines),
        corrects=corrects,
    )


@router.get("/billing/credit-notes/{credit_note_id}/pdf")
def credit_note_as_pdf(request: Request, who: Who, credit_note_id: Id) -> Response:
    """The credit note as a PDF with its legal content (R26), in the organisation's invoice language."""
    return _credit_note_file(request, who, credit_note_id, format="pdf", disposition="inline")


@router.get("/billing/credit-notes/{credit_note_id}/ubl")
def credit_note_as_ubl(request: Request, who: Who, credit_note_id: Id) -> Response:
    """The credit note as Peppol BIS 3.0 UBL XML (R26), to import into accounting software."""
    return _credit_note_file(request, who, credit_note_id, format="ubl", disposition="attachment")


def _credit_note_file(request: Request, who: Who, credit_note_id: int, *, format: str, disposition: str) -> Response:
    with reading(request) as session:
        credit_notes.get_visible(session, credit_note_id=credit_note_id, actor=who.actor)
        doc = documents.credit_note_document(session, credit_note_id=credit_note_id)
    return _download(doc, format=format, disposition=disposition)


def _download(doc: LegalDocument, *, format: str, disposition: str) -> Response:
    file = documents.as_file(doc, format=format)
    return Response(
        file.content,
        media_type=file.media_type,
        headers={"Content-Disposition": f'{disposition}; filename="{file.filename}"'},
    )


@router.post("/billing/payment-methods")
def add_payment_method(request: Request, who: Who, form: Form) -> Response:
    """Add a card, or paying by invoice; the newest usable method is the one charged, older cards are backups."""
    by_invoice = form.get("kind") == "invoice"
    with reading(request) as session:
        typed = {"card_number": None, "expiry": None} if by_invoice else _card(form)
        wanted = payments.card_request(
            session, org_id=org_of(who), invoice=by_invoice, actor=who.actor, now=now(request), **typed
        )
    saved = payments.save_card(gateway_for(request.app.state.database_url), wanted)
    with writing(request) as session:
        payments.add_payment_method(session, org_id=org_of(who), card=saved, actor=who.actor, now=now(request))
    return done(same_site_path(form.get("back"), request) or "/billing/invoices", "payment_method_added")


@router.post("/billing/payment-methods/{method_id}/remove")
def remove_payment_method(request: Request, who: Who, form: Form, method_id: Id) -> Response:
    """Remove a payment method (not the last one a renewing subscription is paid with)."""
    with writing(request) as session:
        subscriptions.remove_payment_method(
            session, org_id=org_of(who), method_id=method_id, actor=who.actor, now=now(request)
        )
    return done("/billing/invoices#payment-methods", "payment_method_removed")


# --- Billing account (R23) ------------------------------------------------------------------------

PROFILE_FIELDS = ("legal_name", "address_line", "postcode", "city", "country", "vat_id", "po_number", "exempt_reason")


@cache
def countries(locale: str) -> list[tuple[str, str]]:
    """The countries an address can be in, as (ISO code, name in the reader's language), by name."""
    names = Locale.parse(locale).territories
    found = []
    for code, name in names.items():
        try:
            found.append((check_country(code), name))
        except BadInput:
            continue  # a region or grouping (EU, 419, ...), not a country
    return sorted(found, key=lambda pair: pair[1])


def _account(request: Request, who: Who, *, typed: dict | None = None, error: str | None = None) -> HTMLResponse:
    with reading(request) as session:
        tax.check_may(who.actor, org_id=org_of(who), permission=Permission.VIEW)
        profile = tax.billing_profile_of(session, org_id=org_of(who))
        org = organizations.get_org(session, org_id=org_of(who))
    shown = typed
    if shown is None:
        shown = {name: (getattr(profile, name) if profile else None) or "" for name in PROFILE_FIELDS}
        shown["invoice_emails"] = "\n".join(profile.invoice_emails) if profile else ""
        shown["invoice_language"] = profile.invoice_language if profile else org.locale
    return render(
        request,
        "billing_account.html",
        who=who,
        status=422 if error else 200,
        profile=profile,
        form=shown,
        error=error,
        countries=countries(language(request, who)),
    )


@router.get("/billing/account")
def billing_account(request: Request, who: Who) -> HTMLResponse:
    """The organisation's billing profile as its invoices name it, and, for Global and Billing admins, a form."""
    return _account(request, who)


@router.post("/billing/account")
def set_billing_account(request: Request, who: Who, form: Form) -> Response:
    """Save the billing profile as a new version; a bad value shows the form again with what is wrong."""
    tax.check_may(who.actor, org_id=org_of(who), permission=Permission.MANAGE_BILLING)
    typed = {name: form.get(name, "") for name in (*PROFILE_FIELDS, "invoice_emails", "invoice_language")}
    try:
        with writing(request) as session:
            tax.set_billing_profile(
                session,
                org_id=org_of(who),
                **{name: typed[name] for name in PROFILE_FIELDS},
                invoice_emails=[e for e in re.split(r"[\s,;]+", typed["invoice_emails"]) if e],
                invoice_language=typed["invoice_language"],
                actor_label=who.actor.label,
                now=now(request),
            )
    except BadInput as exc:  # nothing was written: the form again, as typed, with what to correct
        return _account(request, who, typed=typed, error=error_text(exc, language(request, who)))
    return done("/billing/account", "billing_profile_saved")


# --- Billing notifications (R27) ------------------------------------------------------------------


def _notifications(
    request: Request, who: Who, *, typed: str | None = None, errors: list[str] | None = None
) -> HTMLResponse:
    with reading(request) as session:
        notifications.check_may(who.actor, org_id=org_of(who), permission=Permission.VIEW)
        emails = notifications.notification_addresses(session, org_id=org_of(who))
    return render(
        request,
        "billing_notifications.html",
        who=who,
        status=422 if errors else 200,
        emails=emails,
        typed="\n".join(emails) if typed is None else typed,
        errors=errors or [],
        most=notifications.MAX_ADDRESSES,
    )


@router.get("/billing/notifications")
def billing_notifications(request: Request, who: Who) -> HTMLResponse:
    """The extra addresses billing e-mail goes to and, for Global and Billing admins, a form to change them."""
    return _notifications(request, who)


@router.post("/billing/notifications")
def set_billing_notifications(request: Request, who: Who, form: Form) -> Response:
    """Save the addresses as typed, one a line; a bad one shows the form again with a line for each bad address."""
    notifications.check_may(who.actor, org_id=org_of(who), permission=Permission.MANAGE_BILLING)
    typed = form.get("emails", "")
    try:
        with writing(request) as session:
            notifications.set_addresses(
                session,
                org_id=org_of(who),
                emails=[e for e in re.split(r"[\s,;]+", typed) if e],
                actor_label=who.actor.label,
                now=now(request),
            )
    except BadInput as exc:  # nothing was written: the form again, as typed, with what to correct
        locale = language(request, who)
        if isinstance(exc.detail, list):  # a line for each bad address
            says = N_("“{email}” is not an e-mail address. Enter one such as name@example.com.")
            errors = [gettext(locale, says, email=bad) for bad in exc.detail]
        else:
            errors = [error_text(exc, locale)]
        return _notifications(request, who, typed=typed, errors=errors)
    return done("/billing/notifications", "billing_notifications_saved")
