"""Sign-in lock-out: repeated wrong passwords lock an e-mail address for a while."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Attempts:
    """Wrong passwords in a row for one address, and until when it is locked."""

    failures: int = 0
    locked_until: datetime | None = None

    def locked(self, now: datetime) -> bool:
        """Whether sign-in is refused at `now`, even with the right password."""
        return self.locked_until is not None and now < self.locked_until

    def after_failure(self, now: datetime) -> Attempts:
        """The count after one more wrong password; the fifth in a row locks for 15 minutes."""
        failures = 1 if self.locked_until is not None and now >= self.locked_until else self.failures + 1
        return Attempts(failures, now + LOCKOUT if failures >= MAX_FAILURES else None)
