"""Rules for starting a subscription: a trial once per product, a payment method to pay with."""

from __future__ import annotations

from seatwise.core.errors import ErrorCode, Refused


def check_new_subscription(
    *,
    sku: str,
    seats: int,
    max_seats: int | None,
    product_currency: str,
    org_currency: str,
) -> None:
    """A new subscription fits the product's seat cap and the organisation's currency."""
    if max_seats is not None and seats > max_seats:
        raise Refused(
            f"{sku} allows at most {max_seats} licences",
            code=ErrorCode.SEAT_CAP_EXCEEDED,
            detail={"max_seats": max_seats},
        )
    if product_currency != org_currency:
        raise Refused(
            f"{sku} is sold in {product_currency}, but the organisation pays in {org_currency}",
            code=ErrorCode.CURRENCY_MISMATCH,
        )


def check_trial(*, sku: str, trial_days: int, earlier_trial_id: int | None) -> None:
    """A product without trial days has no trial, and each organisation gets one trial per product (R1)."""
    if trial_days == 0:
        raise Refused(f"{sku} has no trial: buy it instead", code=ErrorCode.NO_TRIAL)
    if earlier_trial_id is not None:
        raise Refused(
            f"this organisation already had a trial of {sku} (subscription {earlier_trial_id})",
            code=ErrorCode.TRIAL_ALREADY_USED,
        )


def require_payment_method(*, on_file: bool, action: str) -> None:
    """Buying and reactivating charge at once, so they need a payment method (R3, R6)."""
    if not on_file:
        raise Refused(f"add a payment method before {action}", code=ErrorCode.PAYMENT_METHOD_REQUIRED)
