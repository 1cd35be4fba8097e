"""The one clock everything reads (R19): the system's, or a fixed instant for `--now` and tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from seatwise.core.errors import BadInput, ErrorCode


class Clock(Protocol):
    """Anything that tells the time, UTC-aware."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock stopped at one instant: `--now` and tests."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at


def parse_instant(text: str, *, what: str = "time") -> datetime:
    """Read ISO-8601 ('2026-11-26', '2026-11-26T10:00Z', with an offset) as a UTC-aware datetime."""
    try:
        at = datetime.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise BadInput(
            f"invalid {what} {text!r}: expected ISO-8601 such as 2026-11-26 or 2026-11-26T09:30:00Z",
            code=ErrorCode.INVALID_DATETIME,
        ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)  # a bare date or time is read as UTC
    if not 1970 <= at.year <= 2999:  # keeps every period and deadline computable
        raise BadInput(
            f"invalid {what} {text!r}: expected a time between 1970 and 2999", code=ErrorCode.INVALID_DATETIME
        )
    return at.astimezone(UTC)
