"""Billing e-mail (R27): what a transaction changed, told to the organisation's billing recipients in their
languages, queued in that same transaction just before it commits; and the reminders that time brings.

The changes are the outbox events the transaction published (`events.published`); each message has a key
naming what it tells of, so that the same change never yields the same mail twice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from seatwise import config
from seatwise.billing import documents
from seatwise.billing.models import Charge, CreditNote, Invoice
from seatwise.catalog.models import Product
from seatwise.core.invoicing import InvoiceStatus, disable_date
from seatwise.core.lifecycle import Status
from seatwise.core.money import Money
from seatwise.core.notices import Facts, Kind, links_for, reminder_due
from seatwise.events import service as events
from seatwise.mail import service as mail
from seatwise.mail.sender import Attachment
from seatwise.notifications.messages import render
from seatwise.organizations import notifications
from seatwise.organizations.service import get_org
from seatwise.payments.models import Payment
from seatwise.payments.service import usable_methods_at
from seatwise.subscriptions.models import Subscription
from seatwise.tax import service as tax

REMINDER_DAYS = {Kind.TRIAL_ENDING: (7, 1), Kind.EXPIRING: (7,), Kind.DELETION_SOON: (7,)}


def _tell(
    session: Session,
    *,
    org_id: int,
    kind: Kind,
    key: str,
    facts: Facts,
    at: datetime,
    attachments: list[dict[str, Any]] | None = None,
) -> None:
    """Queue one message per recipient, rendered in each recipient's language."""
    links = links_for(config.public_url())
    by_locale: dict[str, list[mail.Recipient]] = defaultdict(list)
    for person in notifications.billing_recipients(session, org_id=org_id):
        by_locale[person.locale].append(mail.Recipient(person.email, None, person.locale))
    for locale, people in sorted(by_locale.items()):
        message = render(kind, facts, locale=locale, links=links)
        mail.queue(
            session,
            org_id=org_id,
            kind=kind.value,
            key=key,
            to=people,
            subject=message.subject,
            text=message.text,
            html=message.html,
            attachments=attachments or [],
            at=at,
        )


def _about(session: Session, sub_id: int) -> tuple[Subscription, str, str]:
    sub = session.get(Subscription, sub_id)
    assert sub is not None  # an event names an existing subscription
    product = session.get(Product, sub.product_id)
    assert product is not None
    return sub, product.name, get_org(session, org_id=sub.org_id).name


def _documents(session: Session, name: str, row_id: int, lines: list[Charge]) -> list[dict[str, Any]]:
    """The PDF and UBL of an invoice or credit note, when it has a legal document (R26)."""
    if tax.get_vendor(session) is None or not lines or any(line.vat_category is None for line in lines):
        return []
    return [{"document": name, "id": row_id, "format": format} for format in ("pdf", "ubl")]


def _subscription_event(session: Session, kind: Kind, data: dict[str, Any], at: datetime) -> None:
    sub, product, org = _about(session, data["id"])
    before = data.get("previous_attributes", {})
    if kind is Kind.TRIAL_EXPIRED and before.get("status") != Status.TRIAL:
        return  # a paid subscription that expires was told beforehand (EXPIRING)
    if kind is Kind.DISABLED and sub.status_reason != "non_payment":
        return  # a cancellation is told as such
    unpaid = session.scalar(
        select(Invoice.id)
        .where(Invoice.org_id == sub.org_id, Invoice.status != InvoiceStatus.PAID)
        .order_by(Invoice.id)
        .limit(1)
    )
    facts = Facts(
        product=product,
        organization=org,
        subscription_id=sub.id,
        on=at,
        until=sub.state_until,
        invoice_id=unpaid if kind is Kind.DISABLED else None,
    )
    _tell(session, org_id=sub.org_id, kind=kind, key=f"{kind.value}:{sub.id}:{at.isoformat()}", facts=facts, at=at)


def _cancelled(session: Session, data: dict[str, Any], at: datetime) -> None:
    sub, product, org = _about(session, data["id"])
    credit = session.scalars(
        select(Charge).where(Charge.subscription_id == sub.id, Charge.kind == "cancellation", Charge.created_at == at)
    ).first()
    note = session.get(CreditNote, credit.credit_note_id) if credit and credit.credit_note_id else None
    zero = Money(0, sub.currency)
    amount, vat = (Money(note.total, note.currency), Money(note.vat, note.currency)) if note else (zero, zero)
    if note is None and credit is not None:
        amount = Money(-credit.amount, credit.currency)
    facts = Facts(
        product=product,
        organization=org,
        subscription_id=sub.id,
        on=at,
        until=credit.bill_on if credit else at,
        amount=amount,
        vat=vat,
    )
    _tell(
        session, org_id=sub.org_id, kind=Kind.CANCELLED, key=f"cancelled:{sub.id}:{at.isoformat()}", facts=facts, at=at
    )


def _first_line(session: Session, lines: list[Charge]) -> tuple[str, int]:
    _, product, _ = _about(session, lines[0].subscription_id)
    return product, lines[0].subscription_id


def _invoice_issued(session: Session, data: dict[str, Any], at: datetime) -> None:
    invoice = session.get(Invoice, data["id"])
    assert invoice is not None
    lines = list(session.scalars(select(Charge).where(Charge.invoice_id == invoice.id).order_by(Charge.id)))
    if not lines:
        return
    product, sub_id = _first_line(session, lines)
    facts = Facts(
        product=product,
        organization=get_org(session, org_id=invoice.org_id).name,
        subscription_id=sub_id,
        on=invoice.due_at,
        amount=Money(invoice.amount_due, invoice.currency),
        number=invoice.number,
        invoice_id=invoice.id,
    )
    _tell(
        session,
        org_id=invoice.org_id,
        kind=Kind.INVOICE_ISSUED,
        key=f"invoice:{invoice.id}",
        facts=facts,
        at=at,
        attachments=_documents(session, "invoice", invoice.id, lines),
    )


def _credit_note_issued(session: Session, data: dict[str, Any], at: datetime) -> None:
    note = session.get(CreditNote, data["id"])
    assert note is not None
    lines = list(session.scalars(select(Charge).where(Charge.credit_note_id == note.id)))
    product, sub_id = _first_line(session, lines)
    facts = Facts(
        product=product,
        organization=get_org(session, org_id=note.org_id).name,
        subscription_id=sub_id,
        amount=Money(note.total, note.currency),
        number=note.number,
        credit_note_id=note.id,
    )
    _tell(
        session,
        org_id=note.org_id,
        kind=Kind.CREDIT_NOTE_ISSUED,
        key=f"credit_note:{note.id}",
        facts=facts,
        at=at,
        attachments=_documents(session, "credit_note", note.id, lines),
    )


def _payment_failed(session: Session, data: dict[str, Any], at: datetime) -> None:
    payment = session.get(Payment, data["id"])
    assert payment is not None
    invoice = session.get(Invoice, payment.invoice_id)
    assert invoice is not None
    if invoice.status == InvoiceStatus.COLLECTING:
        return  # a backup card is being tried: told when this round of attempts has ended
    lines = list(session.scalars(select(Charge).where(Charge.invoice_id == invoice.id).order_by(Charge.id)))
    product, sub_id = _first_line(session, lines)
    retry = invoice.next_action_at
    facts = Facts(
        product=product,
        organization=get_org(session, org_id=invoice.org_id).name,
        subscription_id=sub_id,
        amount=Money(invoice.amount_due - invoice.amount_paid, invoice.currency),
        number=invoice.number,
        invoice_id=invoice.id,
        reason=payment.failure_code or "declined",
        next_retry=retry if retry is not None and retry < disable_date(due=invoice.due_at) else None,
    )
    key = f"payment_failed:{invoice.id}:{payment.at.isoformat()}"  # one per round of attempts
    _tell(session, org_id=invoice.org_id, kind=Kind.PAYMENT_FAILED, key=key, facts=facts, at=at)


def _refunded(session: Session, data: dict[str, Any], at: datetime) -> None:
    if not data.get("refunded"):
        return
    note = session.get(CreditNote, data["credit_note_id"]) if data.get("credit_note_id") else None
    lines = list(
        session.scalars(
            select(Charge).where(
                Charge.credit_note_id == note.id if note else Charge.invoice_id == data.get("invoice_id")
            )
        )
    )
    if not lines:
        return
    product, sub_id = _first_line(session, lines)
    org_id = lines[0].org_id
    facts = Facts(
        product=product,
        organization=get_org(session, org_id=org_id).name,
        subscription_id=sub_id,
        on=at,
        amount=Money(data["refunded"], data["currency"]),
        credit_note_id=note.id if note else None,
    )
    key = f"refund:credit_note:{note.id}" if note else f"refund:invoice:{data.get('invoice_id')}"
    _tell(session, org_id=org_id, kind=Kind.REFUND_MADE, key=key, facts=facts, at=at)


TELLERS: dict[str, Callable[[Session, dict[str, Any], datetime], None]] = {
    "subscription.converted": lambda s, d, at: _subscription_event(s, Kind.TRIAL_CONVERTED, d, at),
    "subscription.expired": lambda s, d, at: _subscription_event(s, Kind.TRIAL_EXPIRED, d, at),
    "subscription.disabled": lambda s, d, at: _subscription_event(s, Kind.DISABLED, d, at),
    "subscription.canceled": _cancelled,
    "invoice.issued": _invoice_issued,
    "credit_note.issued": _credit_note_issued,
    "payment.failed": _payment_failed,
    "credit.settled": _refunded,
}


def tell_changes(session: Session) -> None:
    """Queue the billing e-mail of the events this transaction published, in the same transaction (R27)."""
    for published in events.take_published(session):
        teller = TELLERS.get(published["type"])
        if teller is not None:
            teller(session, published["data"], published["occurred_at"])


def _before_commit(session: Session) -> None:
    if events.has_published(session):
        tell_changes(session)


def listen() -> None:
    """Tell every committed change (once per process)."""
    if not event.contains(Session, "before_commit", _before_commit):
        event.listen(Session, "before_commit", _before_commit)


def tell_reminders(session: Session, *, now: datetime) -> None:
    """Queue the reminders that fall on `now`'s day: a trial ending in 7 and 1 days, a subscription with recurring
    billing off expiring in 7 days, a deletion in 7 days (R27)."""
    soon = now + timedelta(days=8)
    subs = list(
        session.scalars(
            select(Subscription).where(
                ((Subscription.status == Status.TRIAL) & (Subscription.trial_end <= soon))
                | (
                    (Subscription.status == Status.ACTIVE)
                    & Subscription.recurring_billing.is_(False)
                    & (Subscription.current_period_end <= soon)
                )
                | (Subscription.status.in_((Status.DISABLED, Status.EXPIRED)) & (Subscription.state_until <= soon))
            )
        )
    )
    methods = usable_methods_at(session, org_ids=sorted({sub.org_id for sub in subs}), at=now)
    for sub in subs:
        if sub.status == Status.TRIAL:
            kind, ends = Kind.TRIAL_ENDING, sub.trial_end
        elif sub.status == Status.ACTIVE:
            kind, ends = Kind.EXPIRING, sub.current_period_end
        else:
            kind, ends = Kind.DELETION_SOON, sub.state_until
        if (
            ends is None
            or ends <= now
            or (left := reminder_due(ends_at=ends, now=now, days=REMINDER_DAYS[kind])) is None
        ):
            continue
        _, product, org = _about(session, sub.id)
        facts = Facts(
            product=product,
            organization=org,
            subscription_id=sub.id,
            on=ends,
            days_left=left,
            converts=kind is Kind.TRIAL_ENDING and sub.recurring_billing and sub.org_id in methods,
        )
        key = f"{kind.value}:{sub.id}:{ends.date().isoformat()}:{left}"
        _tell(session, org_id=sub.org_id, kind=kind, key=key, facts=facts, at=now)


def render_attachment(session: Session, reference: dict[str, Any]) -> Attachment:
    """The invoice or credit note a message's attachment names, as PDF or UBL, made when it is sent."""
    kind, number, format = reference.get("document"), reference.get("id"), str(reference.get("format"))
    if kind == "invoice" and isinstance(number, int):
        doc = documents.invoice_document(session, invoice_id=number)
    elif kind == "credit_note" and isinstance(number, int):
        doc = documents.credit_note_document(session, credit_note_id=number)
    else:
        raise LookupError(f"unknown attachment {reference}: expected an invoice or credit_note with an id")
    file = documents.as_file(doc, format=format)
    return Attachment(file.filename, file.media_type, file.content)
