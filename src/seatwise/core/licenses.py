"""Licence rules (R1, R12, R13): seat changes and assignments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seatwise.core.errors import BadInput, ErrorCode, Refused
from seatwise.core.lifecycle import Lifecycle, Status
from seatwise.core.policy import Policy

ASSIGNABLE = frozenset({Status.TRIAL, Status.ACTIVE, Status.EXPIRED})  # disabled: admins only (R4)
RESTORE_DAYS = 30  # R13: a removed user can be restored within 30 days
MAX_SEATS = 1_000_000  # per subscription, whatever the product allows


def check_seat_count(seats: int) -> int:
    """A number of licences from 1 to MAX_SEATS, or BadInput."""
    if not 1 <= seats <= MAX_SEATS:
        raise BadInput(f"invalid number of licences {seats}: expected 1 to {MAX_SEATS:,}", code=ErrorCode.INVALID_SEATS)
    return seats


@dataclass(frozen=True, slots=True)
class SeatChange:
    """How many seats to add (positive) or remove (negative)."""

    before: int
    after: int

    @property
    def delta(self) -> int:
        return self.after - self.before


def check_seat_change(
    *,
    state: Lifecycle,
    policy: Policy,
    seats: int,
    new_total: int,
    assigned: int,
    max_seats: int | None,
    is_operator: bool,
    now: datetime,
) -> SeatChange:
    """Validate a new seat total against R1, R11 and R12; return the change."""
    if new_total < 1:
        raise BadInput(
            f"invalid licence total {new_total}: expected 1 or more (to stop paying, cancel)",
            code=ErrorCode.INVALID_SEATS,
        )
    check_seat_count(new_total)
    if state.status is Status.TRIAL:
        raise Refused("trial licences are fixed: buy the subscription to change them", code=ErrorCode.TRIAL_SEATS_FIXED)
    if state.status is not Status.ACTIVE:
        raise Refused(
            f"licences can change only on an active subscription; this one is {state.status}", code=ErrorCode.NOT_ACTIVE
        )
    if max_seats is not None and new_total > max_seats:
        raise Refused(
            f"this product allows at most {max_seats} licences",
            code=ErrorCode.SEAT_CAP_EXCEEDED,
            detail={"max_seats": max_seats},
        )
    if new_total < seats:
        if new_total < assigned:
            count = assigned - new_total
            raise Refused(
                f"{assigned} licences are assigned: unassign {count} before lowering the total to {new_total}",
                code=ErrorCode.BELOW_ASSIGNED,
                detail={"remedy": {"action": "unassign_licenses", "count": count}},
            )
        if not is_operator and not policy.in_window(state.current_period, now):
            raise Refused(
                "licences can be removed only within "
                f"{policy.window_days} days of the start or renewal; turn recurring billing off instead",
                code=ErrorCode.OUTSIDE_CANCELLATION_WINDOW,
                detail={"remedy": {"action": "turn_off_recurring_billing", "count": None}},
            )
    return SeatChange(seats, new_total)


def check_assign(*, status: Status, seats: int, assigned: int) -> None:
    """A licence can be assigned while the subscription is usable and a seat is free (R13)."""
    if status not in ASSIGNABLE:
        raise Refused(f"licences cannot be assigned on a {status} subscription", code=ErrorCode.NOT_ASSIGNABLE)
    if assigned >= seats:
        raise Refused(
            f"all {seats} licences are assigned: buy more or unassign one first",
            code=ErrorCode.NO_FREE_LICENSES,
            detail={"seats": seats, "assigned": assigned},
        )


def can_restore(*, removed_at: datetime, now: datetime) -> bool:
    """A removed user can be restored within 30 days (R13)."""
    return (now - removed_at).days < RESTORE_DAYS
