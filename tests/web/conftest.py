"""An admin center app on the test database, with admins who can sign in."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from seatwise.accounts import service as accounts
from seatwise.app import create_app
from seatwise.clock import FixedClock
from seatwise.core.roles import OPERATOR
from seatwise.licenses import service as licenses
from seatwise.organizations import service as organizations
from seatwise.subscriptions import service as subscriptions
from tests.conftest import T0
from tests.factories import world

PASSWORD = "correct horse battery"


@dataclass
class Site:
    url: str
    clock: FixedClock
    contoso: object  # tests.factories.World
    fabrikam: object
    sub_id: int  # Contoso's subscription, 3 seats, 2 assigned
    other_sub_id: int  # Fabrikam's

    def client(self, peer: str = "testclient") -> TestClient:
        """A browser whose requests come from the TCP peer `peer`."""
        return TestClient(create_app(url=self.url, clock=self.clock), follow_redirects=False, client=(peer, 50000))

    def signed_in(self, email: str, *, operator: bool = False, peer: str = "testclient") -> TestClient:
        client = self.client(peer)
        response = sign_in(client, email, PASSWORD, operator=operator)
        assert response.status_code == 303, response.text
        return client


def sign_in(client: TestClient, email: str, password: str, *, operator: bool = False, headers: dict | None = None):
    path = "/operator/signin" if operator else "/signin"
    token = re.search(r'name="form_token" value="([^"]+)"', client.get(path).text).group(1)
    return client.post(path, data={"email": email, "password": password, "form_token": token}, headers=headers)


def csrf(client: TestClient, path: str = "/") -> str:
    """The session's CSRF token, as a page's forms carry it."""
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


@pytest.fixture
def site(uow, db_url) -> Site:
    with uow() as s:
        contoso = world(s, now=T0)
        fabrikam = world(s, now=T0, name="Fabrikam", sku="FAB", locale="nl")
        for w in (contoso, fabrikam):
            for actor in (w.global_admin, w.billing_admin, w.user_admin):
                organizations.set_password(s, user_id=actor.user_id, password=PASSWORD, now=T0)
        accounts.add_operator(s, email="operator@seatwise.example", name=None, password=PASSWORD, now=T0)
        sub = subscriptions.buy(s, org_id=contoso.org_id, sku="BIZ", seats=3, actor=OPERATOR, now=T0)
        other = subscriptions.buy(s, org_id=fabrikam.org_id, sku="FAB", seats=2, actor=OPERATOR, now=T0)
        s.flush()
        for user_id in contoso.user_ids[:2]:
            licenses.assign(s, sub_id=sub.id, user_id=user_id, actor=OPERATOR, now=T0)
        licenses.assign(s, sub_id=other.id, user_id=fabrikam.user_ids[0], actor=OPERATOR, now=T0)
        ids = sub.id, other.id
    return Site(db_url, FixedClock(T0), contoso, fabrikam, *ids)
