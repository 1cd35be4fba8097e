"""R9: Global and Billing admins manage billing, User admins manage users; nobody acts outside their org."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatwise.core.errors import Forbidden, Refused
from seatwise.core.roles import OPERATOR, Actor, Permission, Role, check_removal, may, require

ORG = 1
OTHER_ORG = 2


@pytest.mark.parametrize(
    ("role", "billing", "users", "view"),
    [
        (Role.GLOBAL_ADMIN, True, True, True),
        (Role.BILLING_ADMIN, True, False, True),
        (Role.USER_ADMIN, False, True, True),
        (Role.USER, False, False, False),  # users hold licences; they never act here
    ],
)
def test_r9_role_grants_in_own_organisation(role, billing, users, view):
    actor = Actor(role=role, org_id=ORG, user_id=5)
    assert may(actor, Permission.MANAGE_BILLING, ORG) is billing
    assert may(actor, Permission.MANAGE_USERS, ORG) is users
    assert may(actor, Permission.VIEW, ORG) is view


def test_r9_user_admin_may_not_cancel_buy_or_change_payment_methods():
    user_admin = Actor(role=Role.USER_ADMIN, org_id=ORG, user_id=5)
    with pytest.raises(Forbidden) as raised:
        require(user_admin, Permission.MANAGE_BILLING, ORG)
    assert raised.value.code == "not_authorized"
    assert raised.value.status == 403
    assert "user_admin" in raised.value.message
    assert isinstance(raised.value, Refused)


@pytest.mark.parametrize("role", [Role.GLOBAL_ADMIN, Role.BILLING_ADMIN])
def test_r9_global_and_billing_admins_may_manage_billing(role):
    require(Actor(role=role, org_id=ORG, user_id=5), Permission.MANAGE_BILLING, ORG)  # does not raise


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_r9_nobody_acts_outside_their_own_organisation(role, permission):
    actor = Actor(role=role, org_id=OTHER_ORG, user_id=5)
    assert may(actor, permission, ORG) is False
    with pytest.raises(Forbidden) as raised:
        require(actor, permission, ORG)
    assert raised.value.code == "not_authorized"
    assert "another organisation" in raised.value.message


def test_r9_an_admin_without_an_organisation_acts_nowhere():
    assert may(Actor(role=Role.GLOBAL_ADMIN, org_id=None, user_id=5), Permission.VIEW, ORG) is False


@pytest.mark.parametrize("permission", list(Permission))
def test_r9_operator_may_act_in_every_organisation(permission):
    assert OPERATOR.is_operator
    assert OPERATOR.label == "operator"
    for org in (ORG, OTHER_ORG, 999):
        assert may(OPERATOR, permission, org) is True
        require(OPERATOR, permission, org)


def test_r9_customer_admin_is_never_the_operator():
    actor = Actor(role=Role.GLOBAL_ADMIN, org_id=ORG, user_id=42)
    assert not actor.is_operator
    assert actor.label == "user:42"


@settings(max_examples=200, deadline=None)
@given(
    role=st.sampled_from(list(Role)),
    permission=st.sampled_from(list(Permission)),
    own=st.integers(1, 50),
    target=st.integers(1, 50),
)
def test_r9_may_and_require_agree(role, permission, own, target):
    actor = Actor(role=role, org_id=own, user_id=1)
    allowed = may(actor, permission, target)
    if own != target:
        assert allowed is False
    if allowed:
        require(actor, permission, target)
    else:
        with pytest.raises(Forbidden):
            require(actor, permission, target)


def test_r9_an_admin_cannot_remove_themselves_nor_the_last_global_admin():
    admin = Actor(role=Role.GLOBAL_ADMIN, org_id=1, user_id=7)
    with pytest.raises(Refused, match="yourself"):
        check_removal(admin, user_id=7, role=Role.GLOBAL_ADMIN, global_admins=2)
    with pytest.raises(Refused, match="last Global admin"):
        check_removal(OPERATOR, user_id=8, role=Role.GLOBAL_ADMIN, global_admins=1)
    check_removal(admin, user_id=8, role=Role.GLOBAL_ADMIN, global_admins=2)
    check_removal(admin, user_id=9, role=Role.USER, global_admins=1)
