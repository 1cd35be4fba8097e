"""GET /v1/organizations/{org}: a key sees its own organisation; another one is "not found"."""

from __future__ import annotations

from tests.api import client_with_key
from tests.conftest import T0
from tests.factories import world


def test_r9_a_key_reads_its_own_organisation_and_another_answers_as_a_missing_one(uow, db_url):
    with uow() as s:
        w = world(s, now=T0)
        other = world(s, now=T0, name="Fabrikam", sku="FAB", locale="nl")
    client = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.billing_admin.user_id)
    own = client.get(f"/v1/organizations/{w.org_id}").json()
    assert (own["id"], own["name"], own["currency"], own["locale"]) == (w.org_id, "Contoso", "EUR", "en")
    theirs, missing = client.get(f"/v1/organizations/{other.org_id}"), client.get("/v1/organizations/999")
    assert theirs.status_code == missing.status_code == 404 and theirs.json() == missing.json() | {
        "detail": theirs.json()["detail"]}
    operator = client_with_key(uow, db_url)
    assert operator.get(f"/v1/organizations/{other.org_id}").json()["locale"] == "nl"
