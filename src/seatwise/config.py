"""Settings read from the environment."""

from __future__ import annotations

import os

from seatwise.core.policy import Policy

DEFAULT_DATABASE_URL = "sqlite:///./seatwise.db"


def database_url(override: str | None = None) -> str:
    """`--db` if given, else SEATWISE_DATABASE_URL, else ./seatwise.db."""
    return override or os.environ.get("SEATWISE_DATABASE_URL") or DEFAULT_DATABASE_URL


def cancel_threshold() -> int:
    """Assigned licences at which self-service cancellation stops (R8); policy, default 25."""
    return int(os.environ.get("SEATWISE_CANCEL_THRESHOLD", "25"))


def policy_for(profile: str) -> Policy:
    from seatwise.core.policy import Profile

    return Policy(profile=Profile(profile), assigned_threshold=cancel_threshold())
