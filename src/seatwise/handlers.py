"""Who reacts to which domain event: the one place where one domain's change reaches another.

Each handler runs in the transaction of the change that recorded the event (see `seatwise.bus`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from seatwise import bus, mailing
from seatwise.accounts import service as accounts
from seatwise.core.domain_events import (
    PasswordChanged,
    PaymentRecorded,
    SubscriptionDeleted,
    UserRemoved,
    UserRestored,
)
from seatwise.licenses import service as licenses
from seatwise.subscriptions import service as subscriptions


def _end_sessions(session: Session, event: PasswordChanged) -> None:
    # A new password ends the sessions opened with the old one.
    accounts.end_sessions(session, user_id=event.user_id)


bus.register(UserRemoved, licenses.suspend_for_user)
bus.register(UserRestored, licenses.resume_for_user)
bus.register(SubscriptionDeleted, licenses.release_all)
bus.register(PaymentRecorded, subscriptions.reactivate_paid)
bus.register(PasswordChanged, _end_sessions)
mailing.listen()  # billing e-mail of every change, queued before its commit (R27)
