"""Who billing e-mail goes to (R27): the organisation's Global and Billing admins and up to 5 billing
notification addresses it sets, each in its reader's language."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from seatwise.core.errors import BadInput, ErrorCode
from seatwise.core.roles import Actor, Permission, Role, require
from seatwise.core.text import email_address
from seatwise.events import service as events
from seatwise.organizations.models import BillingNotificationAddress, User
from seatwise.organizations.service import check_visible_org, get_org

MAX_ADDRESSES = 5
# The roles that hear of billing (R27); a User admin manages users, not money, and plain users hear nothing.
BILLING_ROLES = (Role.GLOBAL_ADMIN.value, Role.BILLING_ADMIN.value)


@dataclass(frozen=True, slots=True)
class Recipient:
    """One reader of billing e-mail: an admin (with their user id) or a billing notification address."""

    email: str
    locale: str
    user_id: int | None = None


def check_may(actor: Actor, *, org_id: int, permission: Permission) -> None:
    """Another organisation answers as a missing one does; a role without `permission` is Forbidden (R9)."""
    check_visible_org(org_id=org_id, actor=actor)
    require(actor, permission, org_id)


def notification_addresses(session: Session, *, org_id: int) -> list[str]:
    """The organisation's billing notification addresses, oldest first; NotFound for an unknown organisation."""
    get_org(session, org_id=org_id)
    return [row.email for row in _rows(session, org_id)]


def check_addresses(emails: Sequence[str]) -> list[str]:
    """The addresses as stored, duplicates and blanks left out; BadInput naming every bad one, or more than 5."""
    checked: list[str] = []
    bad: dict[str, str] = {}
    for typed in emails:
        if not typed or not typed.strip():
            continue
        try:
            checked.append(email_address(typed))
        except BadInput as exc:
            bad[typed.strip()] = exc.message
    if bad:
        # Every bad address in its own clause (and in `detail`), so that one answer says all there is to correct.
        raise BadInput("; ".join(bad.values()), code=ErrorCode.INVALID_EMAIL, detail=list(bad))
    unique = list(dict.fromkeys(checked))
    if len(unique) > MAX_ADDRESSES:
        raise BadInput(
            f"too many billing notification addresses ({len(unique)}): expected at most {MAX_ADDRESSES}",
            code=ErrorCode.TOO_MANY_NOTIFICATION_EMAILS,
        )
    return unique


def set_addresses(
    session: Session, *, org_id: int, emails: Sequence[str], actor_label: str, now: datetime
) -> list[str]:
    """Make the organisation's billing notification addresses exactly `emails`, all checked before any write;
    each address added or removed is audited."""
    get_org(session, org_id=org_id)
    wanted = check_addresses(emails)
    rows = _rows(session, org_id)
    for row in rows:
        if row.email not in wanted:
            before = events.snapshot(row)
            session.delete(row)
            events.audit_entry(
                session,
                actor=actor_label,
                action="billing_notification.removed",
                entity=BillingNotificationAddress.__tablename__,
                entity_id=row.id,
                org_id=org_id,
                before=before,
                after=None,
                at=now,
            )
    session.flush()  # a removed address may come back in the same call as a new row
    kept = {row.email for row in rows if row.email in wanted}
    for email in wanted:
        if email in kept:
            continue
        added = BillingNotificationAddress(org_id=org_id, email=email, created_at=now, actor=actor_label)
        session.add(added)
        events.audit_change(
            session,
            actor=actor_label,
            action="billing_notification.added",
            row=added,
            org_id=org_id,
            before=None,
            at=now,
        )
    return notification_addresses(session, org_id=org_id)


def change_addresses(
    session: Session, *, org_id: int, add: Sequence[str], remove: Sequence[str], actor_label: str, now: datetime
) -> list[str]:
    """Remove then add billing notification addresses (the CLI's steps); removing one not listed changes nothing."""
    current = notification_addresses(session, org_id=org_id)
    gone = set(check_addresses(remove)) if remove else set()
    return set_addresses(
        session,
        org_id=org_id,
        emails=[e for e in current if e not in gone] + list(add),
        actor_label=actor_label,
        now=now,
    )


def billing_recipients(session: Session, *, org_id: int) -> list[Recipient]:
    """Everyone billing e-mail of the organisation goes to (R27): its active Global and Billing admins in their own
    language, then its billing notification addresses in the organisation's; each address once."""
    org = get_org(session, org_id=org_id)
    admins = session.scalars(
        select(User)
        .where(User.org_id == org_id, User.role.in_(BILLING_ROLES), User.removed_at.is_(None))
        .order_by(User.id)
    )
    found = [Recipient(email=u.email.lower(), locale=u.locale or org.locale, user_id=u.id) for u in admins]
    found += [Recipient(email=row.email, locale=org.locale) for row in _rows(session, org_id)]
    unique: dict[str, Recipient] = {}
    for recipient in found:
        unique.setdefault(recipient.email, recipient)  # an admin whose address is also listed is told as the admin
    return list(unique.values())


def _rows(session: Session, org_id: int) -> list[BillingNotificationAddress]:
    query = select(BillingNotificationAddress).where(BillingNotificationAddress.org_id == org_id)
    return list(session.scalars(query.order_by(BillingNotificationAddress.id)))
