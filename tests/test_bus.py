"""Domain events: one domain records what happened; the handlers of `seatwise.handlers` react in the same
transaction, so a change and its consequences commit or roll back together."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from seatwise import bus
from seatwise.accounts import service as accounts
from seatwise.accounts import signin_flow
from seatwise.accounts.models import WebSession
from seatwise.core.domain_events import PasswordChanged, SubscriptionDeleted, UserRemoved
from seatwise.core.roles import OPERATOR
from seatwise.licenses import service as licenses
from seatwise.organizations import service as organizations
from seatwise.subscriptions import service as subscriptions
from seatwise.subscriptions.models import Assignment
from tests.conftest import T0
from tests.factories import world

PASSWORD = "correct horse battery"


def test_r13_removing_a_user_records_the_event_whose_handler_frees_their_licences(uow):
    with uow() as s:
        w = world(s, now=T0, users=1)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=3, actor=OPERATOR, now=T0)
        user_id = w.user_ids[0]
        licenses.assign(s, sub_id=sub.id, user_id=user_id, actor=OPERATOR, now=T0)
        organizations.remove_user(s, user_id=user_id, actor=OPERATOR, now=T0 + timedelta(hours=1))
        assert bus.recorded(s) == [
            UserRemoved(user_id=user_id, org_id=w.org_id, actor=OPERATOR, at=T0 + timedelta(hours=1))
        ]
        assert s.scalar(select(Assignment.suspended_at).where(Assignment.user_id == user_id)) is not None


def test_a_handlers_work_rolls_back_with_the_change_that_recorded_it(uow, db_url):
    with uow() as s:
        w = world(s, now=T0, users=1)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=3, actor=OPERATOR, now=T0)
        user_id = w.user_ids[0]
        licenses.assign(s, sub_id=sub.id, user_id=user_id, actor=OPERATOR, now=T0)
    with pytest.raises(RuntimeError), uow() as s:
        organizations.remove_user(s, user_id=user_id, actor=OPERATOR, now=T0 + timedelta(hours=1))
        assert s.scalar(select(Assignment.suspended_at).where(Assignment.user_id == user_id)) is not None
        raise RuntimeError("the request fails after the change")
    with uow() as s:
        assert s.scalar(select(Assignment.suspended_at).where(Assignment.user_id == user_id)) is None
        assert organizations.get_user(s, user_id=user_id).removed_at is None


def test_a_new_password_ends_the_users_sessions_through_its_handler(uow, db_url):
    with uow() as s:
        w = world(s, now=T0, users=0)
        admin = w.global_admin
        organizations.set_password(s, user_id=admin.user_id, password=PASSWORD, now=T0)
        email = organizations.get_user(s, user_id=admin.user_id).email
    signed_in = signin_flow.sign_in(db_url, email=email, password=PASSWORD, operator=False, client="192.0.2.1", now=T0)
    assert isinstance(signed_in, accounts.SignedIn)
    with uow() as s:
        organizations.set_password(s, user_id=admin.user_id, password=PASSWORD + "!", now=T0)
        assert PasswordChanged(user_id=admin.user_id, at=T0) in bus.recorded(s)
        assert s.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id == admin.user_id)) == 0


def test_an_event_nobody_handles_is_an_error_not_a_silent_skip(uow, monkeypatch):
    monkeypatch.setattr(bus, "_HANDLERS", {})
    with uow() as s, pytest.raises(LookupError, match="SubscriptionDeleted"):
        bus.record(s, SubscriptionDeleted(sub_id=1, org_id=1, actor="system:test", at=T0))
