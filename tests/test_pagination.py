"""Every list route of the JSON API pages the same way: `?cursor=&limit=` (1..100, default 50), answering
`{"data": [...], "next_cursor": "<id>" | null}`. Walking the cursors yields every item exactly once, in
the route's order, and the last page has no cursor; a bad page size or cursor is 422 naming it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from seatwise import db
from seatwise.catalog import service as catalog
from seatwise.core.roles import OPERATOR
from seatwise.events import service as events
from seatwise.organizations import service as organizations
from seatwise.subscriptions import service as subscriptions
from seatwise.webhooks import service as webhooks
from tests.api import client_with_key
from tests.conftest import T0
from tests.factories import add_method, run_billing, world


@dataclass(frozen=True)
class Route:
    path: str  # {org}: the organisation whose key walks it
    query: str  # the ids the route lists, in its order, straight from the database (:org bound)
    operator: bool = False  # walked with the operator's key instead


ROUTES = {
    "products": Route("/v1/products", "SELECT id FROM products ORDER BY id"),
    "subscriptions": Route("/v1/subscriptions", "SELECT id FROM subscriptions WHERE org_id = :org ORDER BY id"),
    "subscriptions, operator": Route("/v1/subscriptions", "SELECT id FROM subscriptions ORDER BY id", operator=True),
    "users": Route("/v1/organizations/{org}/users", "SELECT id FROM users WHERE org_id = :org ORDER BY id"),
    "org subscriptions": Route(
        "/v1/organizations/{org}/subscriptions", "SELECT id FROM subscriptions WHERE org_id = :org ORDER BY id"
    ),
    "invoices": Route("/v1/organizations/{org}/invoices", "SELECT id FROM invoices WHERE org_id = :org ORDER BY id"),
    # Newest first: the newest usable method is the one charged.
    "payment methods": Route(
        "/v1/organizations/{org}/payment-methods",
        "SELECT id FROM payment_methods WHERE org_id = :org AND removed_at IS NULL ORDER BY id DESC",
    ),
    "events": Route("/v1/events", "SELECT id FROM events WHERE org_id = :org ORDER BY id"),
    "events, operator": Route("/v1/events", "SELECT id FROM events ORDER BY id", operator=True),
    "webhook endpoints": Route(
        "/v1/webhook-endpoints", "SELECT id FROM webhook_endpoints WHERE org_id = :org ORDER BY id"
    ),
    "webhook endpoints, operator": Route(
        "/v1/webhook-endpoints", "SELECT id FROM webhook_endpoints ORDER BY id", operator=True
    ),
}
DAYS = 5  # purchases on five days, each invoiced at the next midnight: five invoices


def _midnight(at: datetime) -> datetime:
    return datetime(at.year, at.month, at.day, tzinfo=UTC)


def _build(uow) -> tuple[int, int]:
    """Two organisations with at least five of everything that is listed; returns (theirs, mine)."""
    with uow() as s:
        mine = world(s, now=T0, users=2)  # three admins and two users
        theirs = world(s, now=T0, users=1, name="Fabrikam", sku="FAB")
        for n in range(4):
            catalog.add_product(
                s,
                sku=f"P{n}",
                name=f"Product {n}",
                price="1.00",
                currency="EUR",
                interval="monthly",
                trial_days=30,
                max_seats=None,
                policy="standard",
                now=T0,
            )
        for month in range(1, 5):  # four more cards: five payment methods
            add_method(
                s,
                org_id=mine.org_id,
                card_number="4242424242424242",
                expiry=f"{month:02d}/31",
                invoice=False,
                actor=OPERATOR,
                now=T0,
            )
        for n in range(5):
            webhooks.add_endpoint(
                s, org_id=mine.org_id, url=f"https://hooks.contoso.example/{n}", actor=OPERATOR, now=T0
            )
        webhooks.add_endpoint(s, org_id=theirs.org_id, url="https://hooks.fabrikam.example/", actor=OPERATOR, now=T0)
        webhooks.add_endpoint(s, org_id=None, url="https://ops.example/all", actor=OPERATOR, now=T0)
        subscriptions.buy(s, org_id=theirs.org_id, sku="FAB", seats=1, actor=OPERATOR, now=T0)
    for day in range(DAYS):
        at = T0 + timedelta(days=day)
        with uow() as s:
            subscriptions.buy(s, org_id=mine.org_id, sku=mine.sku, seats=day + 1, actor=OPERATOR, now=at)
        run_billing(uow, as_of=_midnight(at) + timedelta(days=1))
    return theirs, mine


def _key(uow, db_url, w, route: Route):
    return (
        client_with_key(uow, db_url)
        if route.operator
        else client_with_key(uow, db_url, org_id=w.org_id, as_user=w.global_admin.user_id, at=T0 + timedelta(days=DAYS))
    )


def _expected(db_url: str, route: Route, org_id: int) -> list[int]:
    with db.read_only(db_url) as s:
        return list(s.execute(text(route.query), {"org": org_id} if ":org" in route.query else {}).scalars())


def _walk(client, path: str, *, limit: int) -> list[dict]:
    """Every page of `path` with `limit` items a page; checks the shape of each page on the way."""
    pages, cursor = [], None
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor is not None else {})}
        answer = client.get(path, params=params)
        assert answer.status_code == 200, (path, params, answer.text)
        body = answer.json()
        assert set(body) == {"data", "next_cursor"}, body
        pages.append(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert isinstance(cursor, str) and cursor == str(body["data"][-1]["id"]), (path, body)
        assert len(pages) <= 200, "the cursors never end"


def _check_walk(client, path: str, expected: list[int]) -> None:
    assert len(expected) >= 5, expected  # enough for three pages of two
    whole = client.get(path, params={"limit": 100}).json()
    assert whole["next_cursor"] is None and [item["id"] for item in whole["data"]] == expected
    for limit in (2, 1, len(expected) - 1, len(expected)):
        pages = _walk(client, path, limit=limit)
        assert [item for page in pages for item in page] == whole["data"], limit
        assert all(len(page) == limit for page in pages[:-1]), limit
        assert 1 <= len(pages[-1]) <= limit, limit  # never an empty last page
        assert len(pages) == -(-len(expected) // limit), limit
    # Without a limit, a page holds up to 50.
    assert client.get(path).json() == whole


def test_walking_the_cursors_of_every_list_yields_every_item_once_in_order(uow, db_url):
    _theirs, mine = _build(uow)
    keys = {False: _key(uow, db_url, mine, ROUTES["users"]), True: client_with_key(uow, db_url)}
    failures = {}
    for name, route in ROUTES.items():
        try:
            _check_walk(keys[route.operator], route.path.format(org=mine.org_id), _expected(db_url, route, mine.org_id))
        except AssertionError as exc:  # every route is checked; the failures are listed together
            failures[name] = str(exc)[:300]
    assert failures == {}


def test_a_page_size_outside_1_to_100_or_a_malformed_cursor_is_422_naming_it(uow, db_url):
    with uow() as s:
        w = world(s, now=T0, users=0)
    client = _key(uow, db_url, w, ROUTES["users"])
    wrong = {}
    for name, route in ROUTES.items():
        if route.operator:
            continue  # the same route as the organisation's key, and the same paging
        path = route.path.format(org=w.org_id)
        for params, field in (
            ({"limit": 0}, "limit"),
            ({"limit": 101}, "limit"),
            ({"limit": -1}, "limit"),
            ({"limit": "ten"}, "limit"),
            ({"limit": "2.5"}, "limit"),
            ({"cursor": "abc"}, "cursor"),
            ({"cursor": "0"}, "cursor"),
            ({"cursor": "-3"}, "cursor"),
            ({"cursor": "007"}, "cursor"),
            ({"cursor": "1.5"}, "cursor"),
            ({"cursor": "1e3"}, "cursor"),
            ({"cursor": "99999999999"}, "cursor"),
            ({"cursor": "abc", "limit": 2}, "cursor"),
        ):
            answer = client.get(path, params=params)
            problem = answer.json()
            got = (
                answer.status_code,
                answer.headers["content-type"],
                problem.get("code"),
                (problem.get("errors") or [{}])[0].get("field"),
                field in problem.get("detail", ""),
            )
            if got != (422, "application/problem+json", "invalid_request", field, True):
                wrong[name, str(params)] = got
    assert wrong == {}


def test_the_default_page_is_fifty_and_the_cursor_continues_after_it(uow, db_url):
    with uow() as s:
        w = world(s, now=T0, users=48)  # with the three admins: 51 users
    client = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.user_admin.user_id)
    path = f"/v1/organizations/{w.org_id}/users"
    first = client.get(path).json()
    with db.read_only(db_url) as s:
        ids = list(s.execute(text("SELECT id FROM users WHERE org_id = :org ORDER BY id"), {"org": w.org_id}).scalars())
    assert len(ids) == 51
    assert [u["id"] for u in first["data"]] == ids[:50] and first["next_cursor"] == str(ids[49])
    rest = client.get(path, params={"cursor": first["next_cursor"]}).json()
    assert [u["id"] for u in rest["data"]] == ids[50:] and rest["next_cursor"] is None
    assert client.get(path, params={"limit": 100}).json()["data"] == first["data"] + rest["data"]


def test_a_cursor_stays_valid_while_new_items_arrive(uow, db_url):
    with uow() as s:
        w = world(s, now=T0, users=4)
        subscriptions.start_trial(s, org_id=w.org_id, sku=w.sku, seats=1, actor=OPERATOR, now=T0)
        for seats in (1, 2):
            subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=seats, actor=OPERATOR, now=T0)
    client = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.global_admin.user_id)
    first = client.get("/v1/events", params={"limit": 2}).json()
    with uow() as s:
        organizations.remove_user(s, user_id=w.user_ids[0], actor=OPERATOR, now=T0)  # not an event
        subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=9, actor=OPERATOR, now=T0)  # a new event
        newest = events.list_events(s, org_id=w.org_id, after=None, limit=100)[-1].id
    rest = client.get("/v1/events", params={"cursor": first["next_cursor"], "limit": 100}).json()
    seen = [e["id"] for e in first["data"] + rest["data"]]
    assert len(seen) == len(set(seen)) == 4 and seen == sorted(seen) and seen[-1] == newest
    assert rest["next_cursor"] is None
