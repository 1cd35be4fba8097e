"""GET /v1/products: the catalogue, with the CLI's field names."""

from __future__ import annotations

from tests.api import client_with_key
from tests.cli.conftest import Cli
from tests.conftest import T0
from tests.factories import world


def test_products_are_listed_for_any_key_as_the_cli_lists_them(uow, db_url):
    with uow() as s:
        w = world(s, now=T0)
    client = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.user_admin.user_id)
    [product] = client.get("/v1/products").json()["data"]
    assert product == Cli(db_url).ok("product", "list")[0]
    assert (product["sku"], product["price"], product["period"]) == ("BIZ", "12.50", "monthly")
    assert client.get("/v1/products", headers={"Authorization": ""}).status_code == 401
