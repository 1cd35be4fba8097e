"""Who may do what (R9): roles of customer admins and the operator."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from seatwise.core.errors import ErrorCode, Forbidden, Refused


class Role(enum.StrEnum):
    GLOBAL_ADMIN = "global_admin"
    BILLING_ADMIN = "billing_admin"
    USER_ADMIN = "user_admin"
    USER = "user"


class Permission(enum.StrEnum):
    MANAGE_BILLING = "manage_billing"  # cancel, reactivate, buy/remove licences, payment methods
    MANAGE_USERS = "manage_users"  # users and licence assignments
    VIEW = "view"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.GLOBAL_ADMIN: frozenset(Permission),
    Role.BILLING_ADMIN: frozenset({Permission.MANAGE_BILLING, Permission.VIEW}),
    Role.USER_ADMIN: frozenset({Permission.MANAGE_USERS, Permission.VIEW}),
    Role.USER: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Actor:
    """The operator, or a user of one organisation acting with their role."""

    role: Role | None
    org_id: int | None = None
    user_id: int | None = None

    @property
    def is_operator(self) -> bool:
        return self.role is None

    @property
    def label(self) -> str:
        return "operator" if self.is_operator else f"user:{self.user_id}"


OPERATOR = Actor(role=None)
SYSTEM_BILLING_RUN = "system:billing-run"


def can_see(actor: Actor, org_id: int) -> bool:
    """Whether `actor` may see an organisation's rows: the operator all, an admin only their own (R9)."""
    return actor.is_operator or actor.org_id == org_id


def may(actor: Actor, permission: Permission, org_id: int) -> bool:
    """Whether `actor` holds `permission` in organisation `org_id`; nobody acts outside their own."""
    if actor.is_operator:
        return True
    assert actor.role is not None  # every actor but the operator has a role
    return actor.org_id == org_id and permission in GRANTS[actor.role]


def may_manage_user(actor: Actor, role: Role, org_id: int) -> bool:
    """Admins are added, removed and restored only by a Global admin; User admins manage plain users."""
    if not may(actor, Permission.MANAGE_USERS, org_id):
        return False
    return actor.is_operator or actor.role is Role.GLOBAL_ADMIN or role is Role.USER


def require_user_management(actor: Actor, role: Role, org_id: int) -> None:
    """Raise Forbidden unless `actor` may add, remove or restore a user with `role`."""
    require(actor, Permission.MANAGE_USERS, org_id)
    if not may_manage_user(actor, role, org_id):
        raise Forbidden(f"only a Global admin can add, remove or restore a {role.value}")


def check_removal(actor: Actor, *, user_id: int, role: Role, global_admins: int) -> None:
    """An admin does not remove themselves, and nobody removes an organisation's last Global admin,
    so that it can always manage its own billing and users."""
    if actor.user_id == user_id:
        raise Refused("you cannot remove yourself: ask another Global admin", code=ErrorCode.CANNOT_REMOVE_SELF)
    if role is Role.GLOBAL_ADMIN and global_admins <= 1:
        raise Refused(
            "this is the organisation's last Global admin: make someone else a Global admin first",
            code=ErrorCode.LAST_GLOBAL_ADMIN,
        )


def require(actor: Actor, permission: Permission, org_id: int) -> None:
    """Raise Forbidden unless `actor` may act with `permission` in `org_id`."""
    if not may(actor, permission, org_id):
        if actor.org_id != org_id:
            raise Forbidden(f"{actor.label} belongs to another organisation and cannot act here")
        assert actor.role is not None  # the operator may do anything
        raise Forbidden(
            f"{actor.label} is a {actor.role.value}; this needs a role that may {permission.value.replace('_', ' ')}"
        )
