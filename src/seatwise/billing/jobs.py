"""Gateway calls as jobs (R32): each pending payment row is claimed for this process, sent with no
transaction open, and its answer recorded in a transaction of its own. The billing run, Pay now and the
workers all collect through here."""

from __future__ import annotations

from collections import Counter

from seatwise import db
from seatwise.billing import collection
from seatwise.billing.collection import GatewayCall
from seatwise.core.invoicing import PaymentKind
from seatwise.payments.gateway import Gateway, GatewayUnavailable, Outcome


def collect(url: str, *, gateway: Gateway, invoice_id: int | None = None) -> Counter[str]:
    """Make every gateway call that payment rows wait for (those of one invoice, if given: a Pay now and the
    backup cards it falls back on); what they did, for the run's summary. A call the gateway does not answer
    stays pending and is looked up first next time."""
    done: Counter[str] = Counter()
    after = 0
    while True:
        with db.read_only(url) as session:
            waiting = collection.pending(session, after=after, invoice_id=invoice_id)
        if not waiting:
            return done
        after = waiting[-1]
        for payment_id in waiting:
            if (what := collect_one(url, payment_id=payment_id, gateway=gateway)) is not None:
                done[what] += 1


def collect_one(url: str, *, payment_id: int, gateway: Gateway) -> str | None:
    """Make the gateway call one payment row waits for and record its answer; what it did (`unanswered` if
    the gateway did not answer), or None if another process has it or it was answered meanwhile."""
    with db.claimed_for_this_process(url, "payment", payment_id) as mine:
        if not mine:
            return None  # another worker is calling the gateway for it
        with db.unit_of_work(url) as session:
            call = collection.claim(session, payment_id=payment_id)
        if call is None:
            return None
        try:
            outcome = _ask(gateway, call)
        except GatewayUnavailable:
            return "unanswered"
        with db.unit_of_work(url) as session:
            return collection.answered(session, payment_id=payment_id, outcome=outcome)


def _ask(gateway: Gateway, call: GatewayCall) -> Outcome:
    """The gateway's outcome for a call: looked up first if an earlier try may have reached it."""
    if call.kind == PaymentKind.REFUND:
        found = (
            gateway.find_refund(customer=call.customer, charge=call.refunds or "", key=call.key)
            if call.look_up
            else None
        )
        return found or gateway.refund(
            customer=call.customer, charge=call.refunds or "", amount=call.amount, key=call.key
        )
    found = gateway.find_charge(customer=call.customer, key=call.key) if call.look_up else None
    return found or gateway.charge(
        customer=call.customer,
        token=call.token,
        amount=call.amount,
        key=call.key,
        metadata={"seatwise_invoice": call.invoice_number},
    )
