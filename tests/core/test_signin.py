"""Sign-in lock-out: five wrong passwords in a row lock an address for 15 minutes."""

from __future__ import annotations

from datetime import timedelta

from seatwise.core.signin import LOCKOUT, MAX_FAILURES, Attempts
from tests.conftest import T0


def test_the_fifth_wrong_password_in_a_row_locks_for_fifteen_minutes():
    attempts = Attempts()
    for n in range(1, MAX_FAILURES):
        attempts = attempts.after_failure(T0)
        assert (attempts.failures, attempts.locked(T0)) == (n, False)
    attempts = attempts.after_failure(T0)
    assert attempts.locked(T0) and attempts.locked(T0 + LOCKOUT - timedelta(seconds=1))
    assert not attempts.locked(T0 + LOCKOUT)


def test_a_wrong_password_after_the_lock_ran_out_starts_counting_again():
    locked = Attempts(MAX_FAILURES, T0 + LOCKOUT)
    again = locked.after_failure(T0 + LOCKOUT)
    assert (again.failures, again.locked(T0 + LOCKOUT)) == (1, False)
