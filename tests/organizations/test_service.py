"""Organisations and users (R9 for user management, R13 for removal)."""

from __future__ import annotations

import pytest

from seatwise.core.errors import Forbidden, NotFound
from seatwise.core.roles import OPERATOR
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


def test_an_e_mail_names_the_acting_user_only_while_it_is_in_one_organisation(uow):
    with uow() as s:
        w = world(s, now=T0, users=1)
        other = world(s, now=T0, users=0, name="Fabrikam", sku="FAB")
        assert organizations.resolve_actor(s, who="u0@contoso.example").org_id == w.org_id
        twin = organizations.add_user(
            s, org_id=other.org_id, email="u0@contoso.example", name=None, role="user", actor=OPERATOR, now=T0
        )
        s.flush()
        with pytest.raises(NotFound, match="belongs to users of 2 organisations: expected the user's id"):
            organizations.resolve_actor(s, who="u0@contoso.example")
        assert organizations.resolve_actor(s, who=str(twin.id)).org_id == other.org_id
