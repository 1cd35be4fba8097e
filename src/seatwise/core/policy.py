"""Cancellation policy profiles (R8, R11): the seed's threshold rule, or a 7-day window."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from seatwise.core.periods import Period, add_days


class Profile(enum.StrEnum):
    STANDARD = "standard"  # the seed's: self-service while fewer than `assigned_threshold` are assigned
    WINDOW = "window"  # Microsoft Customer Agreement style: only within `window_days` of start or renewal


@dataclass(frozen=True, slots=True)
class Policy:
    profile: Profile = Profile.STANDARD
    assigned_threshold: int = 25
    window_days: int = 7

    def window_closes(self, period: Period) -> datetime:
        """The moment after which a window-profile subscription can no longer be cancelled or reduced."""
        return add_days(period.start, self.window_days)

    def in_window(self, period: Period, now: datetime) -> bool:
        """Whether cancelling or removing licences is open at `now` (always, outside the window profile)."""
        return self.profile is not Profile.WINDOW or now < self.window_closes(period)

    def unassign_needed(self, assigned: int) -> int:
        """How many licences to unassign before self-service cancellation is allowed (R8)."""
        if self.profile is Profile.WINDOW:
            return 0
        return max(0, assigned - self.assigned_threshold + 1)
