"""Organisations and users (R9 for user management, R13 for removal)."""

from __future__ import annotations

import pytest

from seatwise.core.errors import Forbidden
from seatwise.organizations import service as organizations
from tests.conftest import T0
from tests.factories import world


def test_r9_a_user_admin_manages_plain_users_but_not_admins(uow):
    with uow() as s:
        w = world(s, now=T0, users=1)
        added = organizations.add_user(
            s, org_id=w.org_id, email="new@contoso.example", name=None, role="user", actor=w.user_admin, now=T0
        )
        organizations.remove_user(s, user_id=added.id, actor=w.user_admin, now=T0)
    attempts = [
        lambda s: organizations.add_user(
            s, org_id=w.org_id, email="boss@contoso.example", name=None, role="global_admin", actor=w.user_admin, now=T0
        ),
        lambda s: organizations.remove_user(s, user_id=w.global_admin.user_id, actor=w.user_admin, now=T0),
    ]
    for attempt in attempts:
        with uow() as s, pytest.raises(Forbidden):
            attempt(s)
    with uow() as s:
        assert organizations.get_user(s, user_id=w.global_admin.user_id).removed_at is None
        assert "boss@contoso.example" not in [u.email for u in organizations.list_users(s, org_id=w.org_id)]
        boss = organizations.add_user(
            s,
            org_id=w.org_id,
            email="boss@contoso.example",
            name=None,
            role="global_admin",
            actor=w.global_admin,
            now=T0,
        )
        assert boss.role == "global_admin"
