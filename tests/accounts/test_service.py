"""Accounts: changing one's language is a service call that the audit log records."""

from __future__ import annotations

import pytest

from seatwise.accounts import service as accounts
from seatwise.accounts import signin_flow
from seatwise.accounts.models import Operator
from seatwise.core.errors import BadInput
from seatwise.events import service as events
from tests.conftest import T0
from tests.web.conftest import PASSWORD


def _operator_signed_in(uow, db_url):
    with uow() as s:
        op = accounts.add_operator(s, email="op@seatwise.example", name=None, password=PASSWORD, now=T0)
    signed_in = signin_flow.sign_in(
        db_url, email=op.email, password=PASSWORD, operator=True, client="192.0.2.1", now=T0
    )
    assert isinstance(signed_in, accounts.SignedIn)
    return op, signed_in.token


def test_an_operators_language_change_is_audited_as_the_operators(uow, db_url):
    op, token = _operator_signed_in(uow, db_url)
    with uow() as s:
        who = accounts.principal(s, token=token, now=T0)
        accounts.set_language(s, who=who, locale="en", now=T0)
        assert s.get(Operator, op.id).locale == "en"
        assert [e.action for e in events.entries(s, entity="operators", entity_id=op.id)] == [
            "operator.added",
            "signin.succeeded",
            "operator.language_changed",
        ]


def test_an_unknown_language_changes_nothing(uow, db_url):
    op, token = _operator_signed_in(uow, db_url)
    with uow() as s:
        who = accounts.principal(s, token=token, now=T0)
        before = len(events.entries(s))
        with pytest.raises(BadInput) as refused:
            accounts.set_language(s, who=who, locale="fr", now=T0)
        assert refused.value.code == "invalid_locale"
        assert (s.get(Operator, op.id).locale, len(events.entries(s))) == (None, before)
