"""API keys (R9): the operator's, or acting as one admin of one organisation; only a hash is kept."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import text

from seatwise.apikeys import service as apikeys
from seatwise.core.errors import BadInput, NotFound, Refused
from seatwise.core.roles import OPERATOR, Role
from tests.conftest import T0
from tests.factories import world


def test_r9_a_key_acts_with_its_admins_present_role_and_only_its_hash_is_stored(uow, db_url):
    from seatwise import db

    with uow() as s:
        w = world(s, now=T0)
        row, key = apikeys.create(s, operator=False, org_id=w.org_id, as_user=w.user_admin.user_id, now=T0)
        s.flush()
        actor = apikeys.actor_for(s, key=key)
        assert (actor.role, actor.org_id, actor.user_id) == (Role.USER_ADMIN, w.org_id, w.user_admin.user_id)
        assert key.startswith("sw_") and len(key) > 40 and row.prefix == key[:10]
    with db.read_only(db_url) as s:
        stored = s.execute(text("SELECT key_hash FROM api_keys")).scalar_one()
        audit = str(s.execute(text("SELECT after FROM audit_log WHERE action = 'api_key.created'")).scalar_one())
    assert stored == hashlib.sha256(key.encode()).hexdigest() and key not in audit


def test_the_operators_key_acts_as_the_operator_and_wrong_keys_as_nobody(uow):
    with uow() as s:
        _, key = apikeys.create(s, operator=True, org_id=None, as_user=None, now=T0)
        s.flush()
        assert apikeys.actor_for(s, key=key) == OPERATOR
        for wrong in (None, "", key[:-1], key + "x", "Bearer " + key, key.replace("sw_", "xx_")):
            assert apikeys.actor_for(s, key=wrong) is None


@pytest.mark.parametrize(
    "owner, code",
    [
        (dict(operator=True, org_id=1, as_user=None), "invalid_api_key_owner"),
        (dict(operator=False, org_id=1, as_user=None), "invalid_api_key_owner"),
        (dict(operator=False, org_id=None, as_user=1), "invalid_api_key_owner"),
        (dict(operator=False, org_id=99, as_user=1), "unknown_org"),
    ],
)
def test_a_key_belongs_to_the_operator_or_to_one_admin(uow, owner, code):
    with uow() as s:
        world(s, now=T0)
        with pytest.raises(BadInput) as refused:
            apikeys.create(s, now=T0, **owner)
        assert refused.value.code == code


def test_a_key_acts_only_as_an_admin_of_its_own_organisation(uow):
    with uow() as s:
        w = world(s, now=T0)
        other = world(s, now=T0, name="Fabrikam", sku="FAB")
        with pytest.raises(BadInput, match="not an active user of organisation"):
            apikeys.create(s, operator=False, org_id=w.org_id, as_user=other.global_admin.user_id, now=T0)
        with pytest.raises(Refused, match="not an admin"):
            apikeys.create(s, operator=False, org_id=w.org_id, as_user=w.user_ids[0], now=T0)


def test_a_revoked_key_stops_at_once_and_cannot_be_revoked_twice(uow):
    with uow() as s:
        row, key = apikeys.create(s, operator=True, org_id=None, as_user=None, now=T0)
        s.flush()
        apikeys.revoke(s, key_id=row.id, now=T0)
        assert apikeys.actor_for(s, key=key) is None
        with pytest.raises(Refused, match="already revoked"):
            apikeys.revoke(s, key_id=row.id, now=T0)
        with pytest.raises(NotFound):
            apikeys.revoke(s, key_id=999, now=T0)
