"""The admin center's pages and forms over HTTP, on both databases: roles, tenants, CSRF, language."""

from __future__ import annotations

from sqlalchemy import text

from seatwise import db
from seatwise.events import service as events
from seatwise.i18n import gettext
from seatwise.limits import MAX_BODY
from seatwise.organizations.models import User
from seatwise.web import operator as operator_pages
from seatwise.web import routes as admin_pages
from seatwise.web import signin as signin_pages
from tests.factories import run_billing
from tests.web.conftest import csrf

ADMIN, BILLING, PEOPLE = ("global_admin@contoso.example", "billing_admin@contoso.example", "user_admin@contoso.example")
TABLES = ("subscriptions", "assignments", "users", "charges", "payment_methods", "audit_log")


def snapshot(url: str) -> dict:
    with db.read_only(url) as s:
        return {t: s.execute(text(f"SELECT * FROM {t} ORDER BY 1")).all() for t in TABLES}


def test_r10_the_cancel_page_shows_the_decision_and_the_post_performs_it(site):
    client = site.signed_in(ADMIN)
    page = client.get(f"/billing/subscriptions/{site.sub_id}/cancel")
    assert page.status_code == 200 and 'data-code="allowed"' in page.text
    done = client.post(
        f"/billing/subscriptions/{site.sub_id}/cancel",
        data={"csrf_token": csrf(client), "reason": "other", "comment": "moving on"},
    )
    assert done.headers["location"] == f"/billing/subscriptions/{site.sub_id}?done=canceled"
    after = client.get(done.headers["location"]).text
    assert "Your subscription has been cancelled." in after and 'class="status disabled"' in after


def _posts() -> list[str]:
    """Every form the admin center and the operator console accept, but signing in (and choosing the
    organisation to sign in to, whose form carries a signed token of its own instead)."""
    routes = signin_pages.router.routes + admin_pages.router.routes + operator_pages.router.routes
    return sorted(r.path for r in routes if "POST" in getattr(r, "methods", ()) and "/signin" not in r.path)


def test_every_form_without_the_sessions_csrf_token_is_refused_and_changes_nothing(site):
    admin, operator = site.signed_in(ADMIN), site.signed_in("operator@seatwise.example", operator=True)
    ids = {"sub_id": site.sub_id, "user_id": site.contoso.user_ids[0]}
    posts = _posts()
    assert len(posts) >= 12 and "/billing/subscriptions/{sub_id}/cancel" in posts and "/operator/billing-runs" in posts
    before = snapshot(site.url)
    for path in posts:
        client = operator if path.startswith("/operator") else admin
        for form in ({}, {"csrf_token": "forged-token"}):
            data = form | {
                "subscription": str(site.sub_id),
                "user_id": str(ids["user_id"]),
                "total": "5",
                "enabled": "off",
                "reason": "other",
                "locale": "nl",
                "email": "x@contoso.example",
            }
            response = client.post(path.format(**ids), data=data)
            assert response.status_code == 403 and 'data-code="csrf_token_invalid"' in response.text, path
    assert snapshot(site.url) == before
    assert admin.get("/").status_code == 200  # still signed in: sign-out without a token did nothing


def test_r9_billing_buttons_are_shown_only_to_roles_that_may_use_them_and_refused_anyway(site):
    path = f"/billing/subscriptions/{site.sub_id}"
    assert "Cancel subscription" in site.signed_in(BILLING).get(path).text
    people = site.signed_in(PEOPLE)
    billing = site.signed_in(BILLING)  # before the snapshot: signing in is audited
    page = people.get(path).text
    assert "Cancel subscription" not in page and "Buy or remove licences" not in page
    before = snapshot(site.url)
    for action, data in (
        ("cancel", {"reason": "other"}),
        ("licenses", {"total": "9"}),
        ("recurring-billing", {"enabled": "off"}),
    ):
        response = people.post(f"{path}/{action}", data={"csrf_token": csrf(people)} | data)
        assert response.status_code == 403
    assert snapshot(site.url) == before
    # A Billing admin manages no users: no add form, no selection, and the server refuses the post.
    assert "Add a user" not in billing.get("/users").text
    response = billing.post("/users", data={"csrf_token": csrf(billing), "email": "x@contoso.example"})
    assert response.status_code == 403 and snapshot(site.url) == before


def test_r9_every_page_and_form_of_another_organisation_answers_404_and_changes_nothing(site):
    client = site.signed_in("billing_admin@fabrikam.example")
    from seatwise.billing.models import Invoice

    run_billing(site.url, as_of=site.clock.at)
    with db.unit_of_work(site.url) as s:
        invoice_id = s.query(Invoice.id).filter(Invoice.org_id == site.contoso.org_id).scalar()
    sub, user = site.sub_id, site.contoso.user_ids[0]
    token = csrf(client)
    before = snapshot(site.url)
    gets = [
        f"/billing/subscriptions/{sub}",
        f"/billing/subscriptions/{sub}/cancel",
        f"/billing/subscriptions/{sub}/licenses?total=5",
        f"/billing/invoices/{invoice_id}",
        f"/billing/invoices/{invoice_id}/pdf",
        f"/billing/invoices/{invoice_id}/ubl",
    ]
    posts = [
        (f"/billing/subscriptions/{sub}/cancel", {}),
        (f"/billing/subscriptions/{sub}/licenses", {"total": "5"}),
        (f"/billing/subscriptions/{sub}/recurring-billing", {"enabled": "off"}),
        (f"/billing/subscriptions/{sub}/reactivate", {}),
        (f"/users/{user}/remove", {}),
        (f"/users/{user}/restore", {}),
        ("/users/licenses", {"subscription": str(sub), "user_id": str(user)}),
        (f"/users/{user}/licenses/{sub}/unassign", {}),
    ]
    for path in gets:
        assert client.get(path).status_code == 404, path
    for path, data in posts:
        assert client.post(path, data={"csrf_token": token} | data).status_code == 404, path
    assert snapshot(site.url) == before
    assert "Contoso" not in client.get("/users").text


def test_ids_too_large_for_the_database_name_nothing(site):
    client = site.signed_in(ADMIN)
    token = csrf(client)
    for path in (
        "/billing/subscriptions/99999999999999999999",
        f"/billing/subscriptions/{2**63}/cancel",
        "/billing/invoices/99999999999999999999",
        "/users?sub=99999999999999999999",
        "/users?page=0",
    ):
        response = client.get(path)
        assert response.status_code == 404 and "There is no such page." in response.text, path
    response = client.post(f"/users/{2**63}/remove", data={"csrf_token": token})
    assert response.status_code == 404


def test_r9_an_admin_cannot_remove_themselves_or_the_last_global_admin(site):
    client = site.signed_in(ADMIN)
    before = snapshot(site.url)
    response = client.post(f"/users/{site.contoso.global_admin.user_id}/remove", data={"csrf_token": csrf(client)})
    assert response.status_code == 409 and "You cannot remove yourself" in response.text
    assert snapshot(site.url) == before


def test_the_language_follows_the_browser_until_the_admin_chooses_one(site):
    client = site.signed_in(ADMIN)
    dutch = {"accept-language": "nl-NL,nl;q=0.9,en;q=0.5"}
    assert gettext("nl", "Your products") in client.get("/billing/products", headers=dutch).text
    assert "Your products" in client.get("/billing/products", headers={"accept-language": "en-GB"}).text
    response = client.post("/language", data={"csrf_token": csrf(client), "locale": "en", "back": "/users"})
    assert response.headers["location"] == "/users?done=language_changed"
    assert '<html lang="en">' in client.get("/billing/products", headers=dutch).text  # the choice wins
    bad = client.post("/language", data={"csrf_token": csrf(client), "locale": "fr"})
    assert bad.status_code == 422


def test_changing_ones_language_in_the_admin_center_is_audited(site, uow):
    client = site.signed_in(ADMIN)
    client.post("/language", data={"csrf_token": csrf(client), "locale": "nl"})
    user_id = site.contoso.global_admin.user_id
    with uow() as s:
        assert s.get(User, user_id).locale == "nl"
        changes = [
            e for e in events.entries(s, entity="users", entity_id=user_id) if e.action == "user.language_changed"
        ]
    assert len(changes) == 1
    change = changes[0]
    assert (change.actor, change.before["locale"], change.after["locale"]) == (f"user:{user_id}", None, "nl")


def test_r12_the_licence_preview_shows_the_prorated_charge_the_change_then_bills(site):
    client = site.signed_in(ADMIN)
    preview = client.get(f"/billing/subscriptions/{site.sub_id}/licenses?total=5").text
    # 2 seats bought on day 1 of November (30 days) at €12.50: the whole period, €25.00.
    assert "€25.00" in preview
    client.post(f"/billing/subscriptions/{site.sub_id}/licenses", data={"csrf_token": csrf(client), "total": "5"})
    with db.read_only(site.url) as s:
        amount = s.execute(text("SELECT amount FROM charges WHERE kind = 'seats_added'")).scalar_one()
    assert amount == 2500
    for bad in ("abc", "-1", "1e9", ""):
        response = client.get(f"/billing/subscriptions/{site.sub_id}/licenses?total={bad}")
        assert response.status_code == 422 and 'data-code="invalid_seats"' in response.text


def test_the_home_page_lists_what_needs_attention(site):
    client = site.signed_in(ADMIN)
    client.post(f"/billing/subscriptions/{site.sub_id}/cancel", data={"csrf_token": csrf(client), "reason": "other"})
    home = client.get("/").text
    credit = (3 * 1250 * 29 * 2 + 30) // 60  # 3 seats × €12.50, cancelled on day 1 of 30: 29 days back (R15)
    assert f"A credit of €{credit // 100}.{credit % 100:02d} for BIZ product comes back by 1 December 2026." in home
    assert "BIZ product will be deleted on 30 January 2027." in home  # 90 days after the cancellation (R5)


def test_the_admin_center_answers_a_nul_byte_and_an_oversized_form_with_its_error_page(site):
    client = site.signed_in("global_admin@contoso.example")
    token = csrf(client)
    nul = client.post("/users", data={"csrf_token": token, "email": "a\x00@contoso.example", "role": "user"})
    assert nul.status_code == 422 and "text/html" in nul.headers["content-type"]
    big = client.post("/users", data={"csrf_token": token, "email": "big@contoso.example", "name": "x" * MAX_BODY})
    assert big.status_code == 413 and "This request is too large" in big.text
