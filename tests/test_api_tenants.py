"""R9 over the JSON API: every route that takes an id answers another organisation's ids with 404, as it
answers a missing one, and changes nothing."""

from __future__ import annotations

from sqlalchemy import text

from seatwise import db
from seatwise.catalog.routes import router as catalog
from seatwise.core.roles import OPERATOR
from seatwise.licenses import service as licenses
from seatwise.licenses.routes import router as licences
from seatwise.organizations.routes import router as organizations
from seatwise.subscriptions import service as subscriptions
from seatwise.subscriptions.routes import router as subscriptions_routes
from tests.api import client_with_key
from tests.conftest import T0
from tests.factories import world

TABLES = ("organizations", "users", "subscriptions", "assignments", "charges", "audit_log")
BODIES = {"licenses": {"total": 5}, "assignments": {"user_id": 0}, "recurring-billing": {"enabled": False},
          "cancellation": {}, "users": {"email": "new@contoso.example"}}


def _routes() -> list[tuple[str, str]]:
    routers = (catalog, organizations, subscriptions_routes, licences)
    return sorted((method, r.path) for router in routers for r in router.routes if "{" in r.path
                  for method in r.methods if method != "HEAD")


def _rows(url: str) -> dict:
    with db.read_only(url) as s:
        return {t: s.execute(text(f"SELECT * FROM {t} ORDER BY 1")).all() for t in TABLES}


def test_r9_every_route_with_an_id_answers_another_organisations_ids_as_missing_ones(uow, db_url):
    with uow() as s:
        mine = world(s, now=T0)
        theirs = world(s, now=T0, name="Fabrikam", sku="FAB")
        sub = subscriptions.buy(s, org_id=theirs.org_id, sku="FAB", seats=3, actor=OPERATOR, now=T0)
        s.flush()
        licenses.assign(s, sub_id=sub.id, user_id=theirs.user_ids[0], actor=OPERATOR, now=T0)
        ids = {"org_id": theirs.org_id, "sub_id": sub.id, "user_id": theirs.user_ids[0]}
    client = client_with_key(uow, db_url, org_id=mine.org_id, as_user=mine.global_admin.user_id)
    routes = _routes()
    assert len(routes) >= 12, routes
    before = _rows(db_url)
    for method, path in routes:
        body = BODIES.get(path.rsplit("/", 1)[-1], {}) if method in ("POST", "PUT") else None
        if body == {"user_id": 0}:
            body = {"user_id": ids["user_id"]}
        theirs_answer = client.request(method, path.format(**ids), json=body)
        missing = client.request(method, path.format(**{k: 2**31 - 1 for k in ids}), json=body)
        assert theirs_answer.status_code == missing.status_code == 404, (method, path, theirs_answer.text)
        assert theirs_answer.json()["code"] == missing.json()["code"], (method, path)
    assert _rows(db_url) == before
