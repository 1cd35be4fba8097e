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
        "detail": theirs.json()["detail"]
    }
    operator = client_with_key(uow, db_url)
    assert operator.get(f"/v1/organizations/{other.org_id}").json()["locale"] == "nl"


def test_r9_r13_users_are_listed_added_removed_and_restored_within_the_organisation(uow, db_url):
    with uow() as s:
        w = world(s, now=T0, users=2)
    admin = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.global_admin.user_id)
    added = admin.post(f"/v1/organizations/{w.org_id}/users", json={"email": "New@Contoso.example"})
    assert added.status_code == 201
    user = added.json()
    assert (user["email"], user["role"], user["status"]) == ("new@contoso.example", "user", "active")
    assert user in admin.get(f"/v1/organizations/{w.org_id}/users").json()["data"]
    assert admin.delete(f"/v1/users/{user['id']}").json()["status"] == "removed"
    assert admin.post(f"/v1/users/{user['id']}/restore").json()["status"] == "active"
    billing = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.billing_admin.user_id)
    refused = billing.post(f"/v1/organizations/{w.org_id}/users", json={"email": "x@contoso.example"})
    assert (refused.status_code, refused.json()["code"]) == (403, "not_authorized")
    bad = admin.post(f"/v1/organizations/{w.org_id}/users", json={"email": "not-an-address"})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_email")


def test_an_address_of_another_organisation_can_be_added_and_says_nothing_about_it(uow, db_url):
    """The finding: adding another organisation's address answered 422 duplicate_email, so that one
    organisation learned another's addresses and could squat them."""
    with uow() as s:
        w = world(s, now=T0, users=1)
        other = world(s, now=T0, users=0, name="Fabrikam", sku="FAB")
    theirs = client_with_key(uow, db_url, org_id=other.org_id, as_user=other.global_admin.user_id)
    added = theirs.post(f"/v1/organizations/{other.org_id}/users", json={"email": "U0@contoso.example"})
    assert (added.status_code, added.json()["email"]) == (201, "u0@contoso.example")
    again = theirs.post(f"/v1/organizations/{other.org_id}/users", json={"email": "u0@contoso.example"})
    assert (again.status_code, again.json()["code"]) == (422, "duplicate_email")  # unique within one organisation
    ours = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.global_admin.user_id)
    assert [u["email"] for u in ours.get(f"/v1/organizations/{w.org_id}/users").json()["data"]].count(
        "u0@contoso.example"
    ) == 1
