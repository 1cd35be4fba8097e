"""The Stripe gateway (R21, R32): a Customer per organisation, PaymentMethods attached to it, off-session
PaymentIntents and Refunds against them, each named by Seatwise's idempotency key in its metadata.

Stripe honours idempotency keys for 24 hours, but Stripe-compatible servers such as localstripe do not, so
no call rests on them alone: `charge` and `refund` first look for an object carrying the key in its metadata
and return its outcome instead of making a second one. That costs one list call per charge and per refund,
which is small next to a charge. The PaymentIntent is created and confirmed in one call, because Stripe takes
`off_session` (which lets a renewal go through without the customer, under SCA's exemption for merchant-
initiated payments) only together with `confirm=true`; that leaves no window in which a PaymentIntent exists
unconfirmed. Two calls with the same key at the same moment are the caller's to prevent (it claims the
attempt first); real Stripe's idempotency key covers them too.

Typed card numbers reach Stripe only in test mode; in live mode Seatwise takes the id of a PaymentMethod made
by Stripe's own page or Elements. Neither the API key nor a card number is ever put in a message.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import stripe

from seatwise.core.cards import Card
from seatwise.core.errors import BadInput, ErrorCode, SeatwiseError
from seatwise.core.money import Money
from seatwise.payments.gateway import HARD_DECLINES, GatewayUnavailable, KeyReused, Outcome, SavedCard

KEY_FIELD = "seatwise_key"  # the metadata field that names a PaymentIntent or Refund by Seatwise's key
# Stripe's decline codes that Seatwise tells apart; every other decline is a plain, retryable "declined".
_FAILURE_CODES = {"insufficient_funds": "insufficient_funds", "expired_card": "expired_card"} | {
    code: code for code in HARD_DECLINES
}
_PAGE = 100  # Stripe's largest page


class StripeGateway:
    """Cards kept and charged at Stripe, through the official SDK."""

    def __init__(
        self, api_key: str, *, api_base: str | None = None, timeout: float = 30.0, max_network_retries: int = 2
    ) -> None:
        self.test_mode = api_key.startswith(("sk_test_", "rk_test_"))
        # Retries cover dropped connections and Stripe's own "retry this" answers, except for charges and refunds:
        # the SDK's retry of a POST whose answer was lost rests on the idempotency key alone, which Stripe-
        # compatible servers such as localstripe ignore (a second PaymentIntent). Those are GatewayUnavailable
        # instead, and the caller looks the key up later.
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else {},
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    # Cards

    def save_card(
        self, *, org_id: int, customer: str | None, card: Card | None, payment_method: str | None
    ) -> SavedCard:
        """Attach a card to the organisation's Customer (made if `customer` is None): typed details in test
        mode only, else the id of a PaymentMethod made by Stripe's page or Elements."""
        if card is not None and not self.test_mode:
            raise BadInput(
                "card numbers are not accepted with a live Stripe account: add the card on Stripe's payment page",
                code=ErrorCode.CARD_NUMBERS_NOT_ACCEPTED,
            )
        if card is None and not (payment_method or "").startswith("pm_"):
            raise BadInput(
                "expected a Stripe payment method id (pm_…) made by Stripe's payment page",
                code=ErrorCode.INVALID_PAYMENT_METHOD,
            )
        customer = customer or self._customer(org_id)
        with self._calling("save the card"):
            try:
                if card is not None:
                    # Test mode only; test cards take any three-digit CVC, and localstripe insists on one.
                    made = self._client.v1.payment_methods.create(
                        {
                            "type": "card",
                            "card": {
                                "number": card.number,
                                "exp_month": card.exp_month,
                                "exp_year": card.exp_year,
                                "cvc": "123",
                            },
                        }
                    )
                    payment_method = made.id
                assert payment_method is not None  # checked above
                attached = self._client.v1.payment_methods.attach(payment_method, {"customer": customer})
            except stripe.CardError as exc:
                raise BadInput(
                    f"the card was declined when it was saved ({_decline_code(exc.error)}): use another card",
                    code=ErrorCode.CARD_DECLINED,
                ) from None
            except stripe.InvalidRequestError as exc:
                raise BadInput(
                    f"Stripe refused the payment method: {_message(exc)}", code=ErrorCode.INVALID_PAYMENT_METHOD
                ) from None
        details = attached.card
        if details is None:
            raise BadInput("the Stripe payment method is not a card", code=ErrorCode.INVALID_PAYMENT_METHOD)
        return SavedCard(customer, attached.id, details.brand, details.last4, details.exp_month, details.exp_year)

    def _customer(self, org_id: int) -> str:
        """A new Customer for the organisation."""
        with self._calling("create the customer"):
            made = self._client.v1.customers.create(
                {"metadata": {"seatwise_org": str(org_id)}}, {"idempotency_key": f"seatwise-customer-{org_id}"}
            )
        return made.id

    # Charges

    def charge(self, *, customer: str, token: str, amount: Money, key: str, metadata: Mapping[str, str]) -> Outcome:
        """Charge the card off-session, once per key: a PaymentIntent that already carries the key answers."""
        found = self._intent(customer, key)
        if found is None:
            params: Any = {
                "amount": amount.amount,
                "currency": amount.currency.lower(),
                "customer": customer,
                "payment_method": token,
                "confirm": True,
                "off_session": True,
                "metadata": {**metadata, KEY_FIELD: key},
            }
            with self._calling("charge the card"):
                try:
                    return _charged(
                        self._client.v1.payment_intents.create(
                            params, {"idempotency_key": key, "max_network_retries": 0}
                        )
                    )
                except stripe.CardError as exc:
                    # A decline leaves the PaymentIntent, refused, at Stripe: its state is the outcome.
                    declined = exc.error
            found = self._intent(customer, key)
            if found is None:
                return Outcome(False, None, failure_code(_decline_code(declined)))
        if (found.amount, found.currency) != (amount.amount, amount.currency.lower()):
            raise KeyReused(f"idempotency key {key} was used for {found.currency.upper()} {found.amount} before")
        return _charged(found)

    def find_charge(self, *, customer: str, key: str) -> Outcome | None:
        """What became of the PaymentIntent with this key, or None if Stripe never made one."""
        found = self._intent(customer, key)
        return None if found is None else _charged(found)

    def _intent(self, customer: str, key: str) -> stripe.PaymentIntent | None:
        """The customer's PaymentIntent whose metadata carries this key."""
        with self._calling("look up the charge"):
            try:
                page = self._client.v1.payment_intents.list({"customer": customer, "limit": _PAGE})
            except stripe.InvalidRequestError as exc:
                if "Unexpected customer" not in _message(exc):
                    raise
                # localstripe lists PaymentIntents without filters only: filter here.
                page = self._client.v1.payment_intents.list({"limit": _PAGE})
            for intent in page.auto_paging_iter():
                if intent.customer == customer and _key_of(intent) == key:
                    return intent
        return None

    # Refunds

    def refund(self, *, customer: str, charge: str, amount: Money, key: str) -> Outcome:
        """Refund part or all of a PaymentIntent, once per key: a Refund that already carries the key answers."""
        found = self._refund(charge, key)
        if found is None:
            params: Any = {"payment_intent": charge, "amount": amount.amount, "metadata": {KEY_FIELD: key}}
            with self._calling("refund the charge"):
                found = self._client.v1.refunds.create(params, {"idempotency_key": key, "max_network_retries": 0})
        elif (found.amount, found.currency) != (amount.amount, amount.currency.lower()):
            raise KeyReused(f"idempotency key {key} was used for {found.currency.upper()} {found.amount} before")
        return _refunded(found)

    def find_refund(self, *, customer: str, charge: str, key: str) -> Outcome | None:
        """What became of the Refund with this key, or None if Stripe never made one."""
        found = self._refund(charge, key)
        return None if found is None else _refunded(found)

    def _refund(self, charge: str, key: str) -> stripe.Refund | None:
        """The PaymentIntent's Refund whose metadata carries this key."""
        with self._calling("look up the refund"):
            page = self._client.v1.refunds.list({"payment_intent": charge, "limit": _PAGE})
            for refund in page.auto_paging_iter():
                if _key_of(refund) == key:
                    return refund
        return None

    @contextmanager
    def _calling(self, what: str) -> Iterator[None]:
        """Stripe's failures as Seatwise's: no answer is GatewayUnavailable (the caller looks the key up
        later), a refused key is a configuration error. Messages carry neither the key nor card numbers."""
        try:
            yield
        except (stripe.AuthenticationError, stripe.PermissionError):
            raise SeatwiseError(
                f"Stripe refused the API key when asked to {what}: set STRIPE_API_KEY to the account's secret key",
                code=ErrorCode.INVALID_CONFIGURATION,
            ) from None
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise GatewayUnavailable(f"Stripe did not answer when asked to {what} ({type(exc).__name__})") from None
        except stripe.IdempotencyError:
            raise KeyReused(
                f"Stripe refused an idempotency key reused with other details when asked to {what}"
            ) from None
        except stripe.StripeError as exc:
            if exc.http_status is not None and exc.http_status >= 500:
                raise GatewayUnavailable(f"Stripe failed when asked to {what} (HTTP {exc.http_status})") from None
            raise SeatwiseError(f"Stripe refused to {what}: {_message(exc)}") from None


def _charged(intent: stripe.PaymentIntent) -> Outcome:
    """A PaymentIntent's state as an Outcome; raises GatewayUnavailable while the payment is still pending."""
    if intent.status == "succeeded":
        return Outcome(True, intent.id)
    if intent.status == "processing":
        raise GatewayUnavailable(f"the payment {intent.id} is still processing at Stripe: look it up again later")
    # Every other state moved no money: refused (requires_payment_method), waiting for an authentication the
    # absent customer cannot give (requires_action), or cancelled.
    error = intent.last_payment_error
    return Outcome(False, intent.id, failure_code(_decline_code(error)))


def _refunded(refund: stripe.Refund) -> Outcome:
    """A Refund's state as an Outcome: pending refunds are on their way to the card."""
    if refund.status in ("failed", "canceled"):
        return Outcome(False, refund.id, refund.failure_reason or "refund_failed")
    return Outcome(True, refund.id)


def _key_of(found: stripe.PaymentIntent | stripe.Refund) -> str | None:
    """The Seatwise key in an object's metadata (StripeObjects are not dicts: no .get)."""
    metadata = found.metadata
    return metadata[KEY_FIELD] if metadata is not None and KEY_FIELD in metadata else None


def _decline_code(error: Any) -> str | None:
    """Stripe's reason for a decline: the issuer's decline code where there is one, else the error code."""
    if error is None:
        return None
    return getattr(error, "decline_code", None) or getattr(error, "code", None)


def failure_code(decline: str | None) -> str:
    """Seatwise's failure code for a Stripe decline code (declined, insufficient_funds, expired_card or a hard one)."""
    return _FAILURE_CODES.get(decline or "", "declined")


def _message(exc: stripe.StripeError) -> str:
    """Stripe's one-line explanation of an error."""
    return (exc.user_message or str(exc) or type(exc).__name__).splitlines()[0]
