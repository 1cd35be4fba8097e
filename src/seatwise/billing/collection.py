"""Card charges and refunds at the gateway (R21, R32): each is a payment row, pending until the gateway
has answered. Issuing an invoice or a retry writes the row with its key; `claim` marks it as possibly
sent, in its own short transaction, before anyone calls the gateway; the answer is recorded in another.
A row claimed before whose answer never came is looked up at the gateway by its key first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from seatwise import bus
from seatwise.billing import service
from seatwise.billing.models import Invoice
from seatwise.core.domain_events import PaymentRecorded
from seatwise.core.errors import ErrorCode, Refused
from seatwise.core.invoicing import (
    Dunning,
    InvoiceStatus,
    PaymentKind,
    PaymentStatus,
    charge_key,
    disable_date,
    next_retry,
)
from seatwise.core.money import Money
from seatwise.core.roles import Actor
from seatwise.events import service as events
from seatwise.payments import service as payments
from seatwise.payments.gateway import Outcome
from seatwise.payments.models import Payment, PaymentMethod


@dataclass(frozen=True, slots=True)
class GatewayCall:
    """What to ask the gateway for one pending payment row."""

    payment_id: int
    kind: PaymentKind  # payment (a card charge) or refund
    key: str
    amount: Money
    customer: str
    token: str
    refunds: str | None  # for a refund: the charge it returns money from
    invoice_number: str
    look_up: bool  # claimed before: the gateway may have acted on it already


def pending(session: Session, *, after: int = 0, limit: int = 200, invoice_id: int | None = None) -> list[int]:
    """Ids of payment rows still waiting for the gateway (of one invoice, if given), oldest first, after the
    id `after`."""
    query = select(Payment.id).where(Payment.status == PaymentStatus.PENDING, Payment.id > after)
    if invoice_id is not None:
        query = query.where(Payment.invoice_id == invoice_id)
    return list(session.scalars(query.order_by(Payment.id).limit(limit)))


def claim(session: Session, *, payment_id: int) -> GatewayCall | None:
    """Mark a pending row as (possibly) sent and say what to send; None if it is no longer pending."""
    row = session.execute(
        select(Payment, PaymentMethod.customer, PaymentMethod.token, Invoice.number)
        .join(PaymentMethod, PaymentMethod.id == Payment.method_id)
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Payment.id == payment_id, Payment.status == PaymentStatus.PENDING)
        .with_for_update(of=Payment)
    ).one_or_none()
    if row is None:
        return None
    payment, customer, token, number = row
    look_up, payment.sent = payment.sent, True
    assert payment.key is not None and customer is not None and token is not None  # a card's row
    return GatewayCall(
        payment_id=payment.id,
        kind=PaymentKind(payment.kind),
        key=payment.key,
        amount=Money(payment.amount, payment.currency),
        customer=customer,
        token=token,
        refunds=payment.refunds,
        invoice_number=number,
        look_up=look_up,
    )


def answered(session: Session, *, payment_id: int, outcome: Outcome) -> str | None:
    """Record the gateway's answer for a pending row; what it did for the run's summary (None: a refund, or
    the row was answered meanwhile)."""
    payment = session.scalars(
        select(Payment).where(Payment.id == payment_id, Payment.status == PaymentStatus.PENDING).with_for_update()
    ).one_or_none()
    if payment is None:
        return None
    if payment.kind == PaymentKind.REFUND:
        refund_answered(session, payment=payment, outcome=outcome)
        return None
    return charge_answered(session, payment=payment, outcome=outcome)


def charge_again(session: Session, invoice: Invoice, *, method: PaymentMethod, at: datetime) -> Payment:
    """A new attempt to charge the card for what the invoice still asks, answered by the gateway later (R21, R32);
    each attempt has a key of its own."""
    invoice.attempts += 1
    invoice.payment_method_id = method.id
    invoice.status, invoice.next_action_at = InvoiceStatus.COLLECTING, None
    payment = Payment(
        org_id=invoice.org_id,
        invoice_id=invoice.id,
        method_id=method.id,
        kind=PaymentKind.PAYMENT,
        amount=invoice.amount_due - invoice.amount_paid,
        currency=invoice.currency,
        status=PaymentStatus.PENDING,
        key=charge_key(org_id=invoice.org_id, billing_date=invoice.billing_date, attempt=invoice.attempts),
        sent=False,
        at=at,
    )
    session.add(payment)
    return payment


def pay_now(session: Session, *, invoice_id: int, method_id: int | None, actor: Actor, now: datetime) -> Payment:
    """Charge an unpaid invoice to a card now (Pay now, R21): the card chosen, or the default one. The charge
    waits for the gateway, which is asked outside this transaction (R32); the retry schedule stays as it was."""
    invoice = service.payable(session, invoice_id=invoice_id, actor=actor, now=now)
    if method_id is not None:
        chosen = payments.get_method(session, org_id=invoice.org_id, method_id=method_id)
        cards = [c for c in payments.usable_cards_at(session, org_id=invoice.org_id, at=now) if c.id == chosen.id]
    else:
        cards = payments.usable_cards_at(session, org_id=invoice.org_id, at=now)[:1]
    if not cards:
        raise Refused(
            f"no card of organisation {invoice.org_id} can be charged now"
            + (f" (payment method {method_id} is not a card, or it has expired)" if method_id is not None else "")
            + ": expected a card added first",
            code=ErrorCode.NO_USABLE_CARD,
        )
    payment = charge_again(session, invoice, method=cards[0], at=now)
    events.audit_change(
        session,
        actor=actor.label,
        action="invoice.pay_now",
        row=invoice,
        org_id=invoice.org_id,
        before=None,
        at=now,
        extra={"payment_method_id": cards[0].id},
    )
    session.flush()
    return payment


def charge_answered(session: Session, *, payment: Payment, outcome: Outcome) -> Dunning | PaymentStatus:
    """Record what the gateway did with a card charge (R21): the invoice paid, and what non-payment disabled
    brought back; or, after a decline, the organisation's backup card tried at once, else the next retry or
    the disabling date."""
    invoice = session.scalars(select(Invoice).where(Invoice.id == payment.invoice_id).with_for_update()).one()
    payment.reference, payment.failure_code = outcome.reference, outcome.failure_code
    retry = invoice.attempts > 1
    if outcome.succeeded:
        payment.status = PaymentStatus.SUCCEEDED
        service.mark_paid(session, invoice, payment=payment, at=payment.at)
        events.publish(
            session,
            type="invoice.paid",
            org_id=invoice.org_id,
            data={"object": "invoice", **events.snapshot(invoice)},
            at=payment.at,
        )
        bus.record(session, PaymentRecorded(invoice_id=invoice.id, at=payment.at))
        return Dunning.RETRIED if retry else PaymentStatus.SUCCEEDED
    payment.status = PaymentStatus.FAILED
    session.flush()
    events.publish(
        session,
        type="payment.failed",
        org_id=invoice.org_id,
        data={"object": "payment", **events.snapshot(payment)},
        at=payment.at,
    )
    if (backup := _backup_card(session, invoice=invoice, payment=payment)) is not None:
        charge_again(session, invoice, method=backup, at=payment.at)
    else:
        invoice.status = InvoiceStatus.OPEN
        invoice.next_action_at = next_retry(issued=invoice.issued_at, after=payment.at) or disable_date(
            due=invoice.due_at
        )
    return Dunning.RETRY_FAILED if retry else PaymentStatus.FAILED


def _backup_card(session: Session, *, invoice: Invoice, payment: Payment) -> PaymentMethod | None:
    """The newest usable card of the organisation not yet tried in this round of attempts (those made at the
    same moment): a declined default card is followed by its backups, each once."""
    tried = select(Payment.method_id).where(
        Payment.invoice_id == invoice.id, Payment.kind == PaymentKind.PAYMENT, Payment.at == payment.at
    )
    cards = payments.usable_cards_at(session, org_id=invoice.org_id, at=payment.at)
    tried_ids = set(session.scalars(tried))
    return next((card for card in cards if card.id not in tried_ids), None)


def refund_answered(session: Session, *, payment: Payment, outcome: Outcome) -> None:
    """Record what the gateway did with a refund; a refused one stays visible, and the ledger check shows it."""
    payment.reference, payment.failure_code = outcome.reference, outcome.failure_code
    payment.status = PaymentStatus.SUCCEEDED if outcome.succeeded else PaymentStatus.FAILED
