"""A client of the JSON API with an API key, for the route tests of each domain."""

from __future__ import annotations

from fastapi.testclient import TestClient

from seatwise.apikeys import service as apikeys
from seatwise.clock import FixedClock
from tests.conftest import T0


def client_with_key(uow, db_url: str, *, org_id: int | None = None, as_user: int | None = None, at=T0) -> TestClient:
    """A client whose requests carry a new key: the operator's, or acting as `as_user` of `org_id`."""
    from seatwise.app import create_app

    with uow() as s:
        _, key = apikeys.create(s, operator=org_id is None, org_id=org_id, as_user=as_user, now=T0)
    client = TestClient(create_app(url=db_url, clock=FixedClock(at)))
    client.headers["Authorization"] = f"Bearer {key}"
    return client
