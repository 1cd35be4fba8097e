"""Settings read from the environment."""

from __future__ import annotations

import os

from seatwise.core import signin
from seatwise.core.egress import Allow, parse_allow
from seatwise.core.errors import BadInput, ErrorCode, SeatwiseError
from seatwise.core.notices import DEFAULT_PUBLIC_URL, check_public_url
from seatwise.core.policy import Policy, Profile
from seatwise.core.signin import IPNetwork

DEFAULT_DATABASE_URL = "sqlite:///./seatwise.db"


def database_url(override: str | None = None) -> str:
    """`--db` if given, else SEATWISE_DATABASE_URL, else ./seatwise.db."""
    return override or os.environ.get("SEATWISE_DATABASE_URL") or DEFAULT_DATABASE_URL


def cancel_threshold() -> int:
    """Assigned licences at which self-service cancellation stops (R8); policy, default 25."""
    text = os.environ.get("SEATWISE_CANCEL_THRESHOLD", "25")
    if not text.isdigit() or int(text) < 1:
        raise SeatwiseError(
            f"invalid SEATWISE_CANCEL_THRESHOLD {text!r}: expected a whole number of 1 or more",
            code=ErrorCode.INVALID_CONFIGURATION,
        )
    return int(text)


def policy_for(profile: str) -> Policy:
    """The cancellation policy of a product's profile, with this installation's threshold."""
    return Policy(profile=Profile(profile), assigned_threshold=cancel_threshold())


def trusted_proxies() -> tuple[IPNetwork, ...]:
    """SEATWISE_TRUSTED_PROXIES: the proxies whose X-Forwarded-For names the client (none unless set)."""
    text = os.environ.get("SEATWISE_TRUSTED_PROXIES", "")
    try:
        return signin.trusted_proxies(text)
    except ValueError as exc:
        raise SeatwiseError(
            f"invalid SEATWISE_TRUSTED_PROXIES: {exc}: expected comma-separated addresses or CIDRs such as 10.0.0.0/8",
            code=ErrorCode.INVALID_CONFIGURATION,
        ) from None


def api_docs() -> bool:
    """SEATWISE_API_DOCS=1: serve the interactive API docs at /docs, which load Swagger UI from a CDN
    (off by default: no third-party script runs on this origin unless the operator says so)."""
    text = os.environ.get("SEATWISE_API_DOCS", "0")
    if text not in ("0", "1"):
        raise SeatwiseError(
            f"invalid SEATWISE_API_DOCS {text!r}: expected 1 (on) or 0 (off)", code=ErrorCode.INVALID_CONFIGURATION
        )
    return text == "1"


def webhook_allow() -> Allow:
    """SEATWISE_WEBHOOK_ALLOW: hosts and ranges webhooks may reach although private, and over http."""
    return parse_allow(os.environ.get("SEATWISE_WEBHOOK_ALLOW", ""))


def gateway_kind() -> str:
    """SEATWISE_GATEWAY: the card gateway, `simulator` (the default) or `stripe`."""
    kind = os.environ.get("SEATWISE_GATEWAY", "simulator")
    if kind not in ("simulator", "stripe"):
        raise SeatwiseError(
            f"invalid SEATWISE_GATEWAY {kind!r}: expected simulator or stripe", code=ErrorCode.INVALID_CONFIGURATION
        )
    return kind


def gateway_store() -> str | None:
    """SEATWISE_GATEWAY_STORE: the simulated gateway's own file (default: beside a SQLite database)."""
    return os.environ.get("SEATWISE_GATEWAY_STORE") or None


def stripe_api_key() -> str:
    """STRIPE_API_KEY: the secret key of the vendor's Stripe account (sk_test_… or sk_live_…)."""
    key = os.environ.get("STRIPE_API_KEY", "")
    if not key.startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_")):
        raise SeatwiseError(
            "STRIPE_API_KEY is missing or malformed: expected the account's secret key, sk_test_… or sk_live_…",
            code=ErrorCode.INVALID_CONFIGURATION,
        )
    return key


def stripe_api_base() -> str | None:
    """SEATWISE_STRIPE_API_BASE: another Stripe-compatible endpoint, such as localstripe in tests."""
    return os.environ.get("SEATWISE_STRIPE_API_BASE") or None


def public_url() -> str:
    """The admin center's address as people reach it, for links in e-mail (SEATWISE_PUBLIC_URL)."""
    try:
        return check_public_url(os.environ.get("SEATWISE_PUBLIC_URL") or DEFAULT_PUBLIC_URL)
    except BadInput as exc:
        raise SeatwiseError(f"SEATWISE_PUBLIC_URL: {exc.message}", code=ErrorCode.INVALID_CONFIGURATION) from exc


def smtp_url() -> str | None:
    """SEATWISE_SMTP_URL: the one SMTP server mail goes to (smtp://user:pass@host:587 or smtps://…); without
    it, mail is kept in the database and shown in the operator console (the embedded default)."""
    return os.environ.get("SEATWISE_SMTP_URL") or None


def mail_from() -> str:
    """SEATWISE_MAIL_FROM: the From of every mail, such as `Seatwise <billing@example.com>`."""
    return os.environ.get("SEATWISE_MAIL_FROM") or "Seatwise <billing@seatwise.invalid>"
