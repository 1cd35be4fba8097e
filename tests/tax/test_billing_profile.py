"""R23: an organisation's billing profile, set and shown with the CLI, the API and the Billing account page; Global
and Billing admins edit it, edits are audited and make a new version, and a bad value writes nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from seatwise import db
from seatwise.events.models import AuditEntry
from seatwise.tax import service as tax
from seatwise.tax.models import BillingProfile
from tests.api import client_with_key
from tests.cli.conftest import one_line_error, snapshot
from tests.conftest import T0
from tests.factories import world
from tests.web.conftest import csrf

BELGIAN = [
    "--legal-name", "Fabrikam NV", "--address-line", "Wetstraat 16", "--postcode", "1000", "--city", "Brussel",
    "--country", "be", "--vat-id", "BE 0776.091.951",
]  # fmt: skip
BODY = {
    "legal_name": "Contoso B.V.",
    "address_line": "Dam 1",
    "postcode": "1012 JS",
    "city": "Amsterdam",
    "country": "NL",
    "vat_id": "NL 0000.99998.B57",
    "po_number": "PO-2026-7",
    "invoice_emails": ["AP@contoso.example", "finance@contoso.example"],
    "invoice_language": "nl",
}


def _profiles(url: str) -> int:
    with db.read_only(url) as s:
        return s.scalar(select(func.count()).select_from(BillingProfile))


def test_r23_the_operator_sets_and_shows_a_billing_profile_with_the_cli(cli, db_url):
    org = cli.ok("org", "add", "--name", "Fabrikam")
    out = cli.ok("org", "set-billing", org["id"], *BELGIAN, "--po-number", "PO-1", "--invoice-email", "AP@fab.example",
                 "--invoice-email", "boss@fab.example", "--language", "nl")  # fmt: skip
    assert (out["country"], out["vat_id"], out["po_number"], out["invoice_emails"], out["invoice_language"]) == (
        "BE",
        "BE0776091951",
        "PO-1",
        ["ap@fab.example", "boss@fab.example"],
        "nl",
    )
    shown = cli("org", "billing", org["id"], json_output=False)
    assert shown.stdout.strip() == (
        "Fabrikam NV, Wetstraat 16, 1000 Brussel, BE; VAT ID BE0776091951; PO PO-1; "
        "invoices in nl to ap@fab.example, boss@fab.example"
    )
    assert cli.ok("org", "billing", org["id"])["id"] == out["id"]


def test_r23_org_add_sets_the_billing_profile_in_the_same_transaction(cli, db_url):
    org = cli.ok("org", "add", "--name", "Fabrikam", "--locale", "nl", *BELGIAN)
    assert (org["billing_profile"]["org_id"], org["billing_profile"]["invoice_language"]) == (org["id"], "nl")
    before = snapshot(db_url)
    bad = cli("org", "add", "--name", "Northwind", *BELGIAN[:-2], "--vat-id", "BE0776091952")
    assert (bad.exit_code, bad.data["error"]["code"]) == (2, "invalid_vat_id")
    assert snapshot(db_url) == before  # not even the organisation
    no_name = cli("org", "add", "--name", "Northwind", "--country", "NL", json_output=False)
    assert no_name.exit_code == 2 and "missing legal name" in one_line_error(no_name)
    assert snapshot(db_url) == before


@pytest.mark.parametrize(
    ("change", "code", "says"),
    [
        (["--vat-id", "BE0776091952"], "invalid_vat_id", "invalid VAT ID 'BE0776091952'"),  # a wrong check digit
        (["--vat-id", "NL000099998B57"], "invalid_vat_id", "is not one of BE"),  # another country's
        (["--country", "XX"], "invalid_country", "unknown country 'XX'"),
        (["--po-number", "P" * 500], "invalid_po_number", "PO number too long (500 characters): expected at most 100"),
        (["--invoice-email", "not-an-address"], "invalid_email", "invalid e-mail"),
        (["--language", "de"], "invalid_locale", "expected one of en, nl"),
    ],
)
def test_r23_a_bad_value_is_one_line_exit_2_and_nothing_is_written(cli, db_url, change, code, says):
    org = cli.ok("org", "add", "--name", "Fabrikam")
    cli.ok("org", "set-billing", org["id"], *BELGIAN)
    before, count = snapshot(db_url), _profiles(db_url)
    args = [*BELGIAN, "--po-number", "PO-1", "--language", "en"]
    if change[0] in args:
        args[args.index(change[0]) + 1] = change[1]
    else:
        args += change
    bad = cli("org", "set-billing", org["id"], *args)
    assert (bad.exit_code, bad.data["error"]["code"]) == (2, code), bad
    line = one_line_error(cli("org", "set-billing", org["id"], *args, json_output=False))
    assert says in line, line
    assert (_profiles(db_url), snapshot(db_url)) == (count, before)


def test_r23_more_than_five_invoice_addresses_and_an_unknown_organisation_are_refused(cli, db_url):
    org = cli.ok("org", "add", "--name", "Fabrikam")
    many = [arg for n in range(6) for arg in ("--invoice-email", f"ap{n}@fab.example")]
    bad = cli("org", "set-billing", org["id"], *BELGIAN, *many)
    assert (bad.exit_code, bad.data["error"]["code"]) == (2, "too_many_invoice_emails")
    missing = cli("org", "billing", org["id"])
    assert (missing.exit_code, missing.data["error"]["code"]) == (2, "no_billing_profile")
    unknown = cli("org", "set-billing", 999, *BELGIAN)
    assert (unknown.exit_code, unknown.data["error"]["code"]) == (2, "unknown_org")
    assert _profiles(db_url) == 0


def test_r23_an_edit_is_a_new_version_audited_with_before_and_after(cli, db_url):
    org = cli.ok("org", "add", "--name", "Fabrikam")
    first = cli.ok("org", "set-billing", org["id"], *BELGIAN)
    second = cli.ok("org", "set-billing", org["id"], *BELGIAN, "--po-number", "PO-9")
    assert second["id"] > first["id"]
    with db.read_only(db_url) as s:
        assert tax.billing_profile_of(s, org_id=org["id"]).po_number == "PO-9"
        assert s.get(BillingProfile, first["id"]).po_number is None  # the old version is kept as it was
        edits = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "billing_profile.updated").order_by(AuditEntry.id)
        ).all()
        assert [(e.org_id, e.actor) for e in edits] == [(org["id"], "operator")] * 2
        assert (edits[0].before, edits[0].after["vat_id"]) == (None, "BE0776091951")
        assert (edits[1].before["po_number"], edits[1].after["po_number"]) == (None, "PO-9")


def test_r23_api_a_billing_admin_sets_and_reads_the_profile_a_user_admin_may_read_but_not_write(uow, db_url):
    with uow() as s:
        w = world(s, now=T0, users=0)
        other = world(s, now=T0, users=0, name="Fabrikam", sku="FAB")
    path = f"/v1/organizations/{w.org_id}/billing-profile"
    billing = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.billing_admin.user_id)
    missing = billing.get(path)
    assert (missing.status_code, missing.json()["code"]) == (404, "no_billing_profile")
    assert missing.headers["content-type"].startswith("application/problem+json")
    put = billing.put(path, json=BODY, headers={"Idempotency-Key": "profile-1"})
    assert put.status_code == 200, put.text
    assert (put.json()["vat_id"], put.json()["invoice_emails"], put.json()["actor"]) == (
        "NL000099998B57",
        ["ap@contoso.example", "finance@contoso.example"],
        f"user:{w.billing_admin.user_id}",
    )
    again = billing.put(path, json=BODY, headers={"Idempotency-Key": "profile-1"})
    assert (again.status_code, again.json()["id"]) == (200, put.json()["id"])  # replayed, not a second version
    assert _profiles(db_url) == 1
    user_admin = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.user_admin.user_id)
    assert user_admin.get(path).json()["legal_name"] == "Contoso B.V."
    refused = user_admin.put(path, json={**BODY, "po_number": "PO-X"})
    assert (refused.status_code, refused.json()["code"]) == (403, "not_authorized")
    stranger = client_with_key(uow, db_url, org_id=other.org_id, as_user=other.global_admin.user_id)
    for answer in (stranger.get(path), stranger.put(path, json=BODY)):
        assert (answer.status_code, answer.json()["code"]) == (404, "unknown_org")
    operator = client_with_key(uow, db_url)
    assert operator.put(path, json={**BODY, "exempt_reason": "Article 132 VAT Directive"}).status_code == 200
    assert operator.get(path).json()["exempt_reason"] == "Article 132 VAT Directive"
    assert _profiles(db_url) == 2


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"vat_id": "NL123456789B01"}, "invalid_vat_id"),
        ({"country": "XX"}, "invalid_country"),
        ({"po_number": "P" * 500}, "invalid_po_number"),
        ({"invoice_emails": [f"a{n}@contoso.example" for n in range(6)]}, "too_many_invoice_emails"),
        ({"invoice_language": "fr"}, "invalid_locale"),
    ],
)
def test_r23_api_bad_input_is_422_with_its_code_and_writes_nothing(uow, db_url, change, code):
    with uow() as s:
        w = world(s, now=T0, users=0)
    client = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.global_admin.user_id)
    before = snapshot(db_url)
    bad = client.put(f"/v1/organizations/{w.org_id}/billing-profile", json={**BODY, **change})
    assert (bad.status_code, bad.json()["code"]) == (422, code), bad.text
    assert "\n" not in bad.json()["detail"] and "expected" in bad.json()["detail"]
    assert snapshot(db_url) == before


def _form(**changes) -> dict[str, str]:
    typed = {**BODY, "invoice_emails": "ap@contoso.example\nfinance@contoso.example", **changes}
    return {k: v for k, v in typed.items() if v is not None}


def test_r23_the_billing_account_page_shows_and_saves_the_profile_for_a_billing_admin(site):
    browser = site.signed_in("billing_admin@contoso.example")
    home = browser.get("/").text
    assert 'href="/billing/account"' in home and "Billing account" in home
    page = browser.get("/billing/account").text
    assert "No billing profile yet" in page and 'action="/billing/account"' in page
    saved = browser.post("/billing/account", data={**_form(), "csrf_token": csrf(browser, "/billing/account")})
    assert (saved.status_code, saved.headers["location"]) == (303, "/billing/account?done=billing_profile_saved")
    shown = browser.get("/billing/account").text
    assert "NL000099998B57" in shown and "PO-2026-7" in shown and "ap@contoso.example, finance@contoso.example" in shown
    with db.read_only(site.url) as s:
        profile = tax.billing_profile_of(s, org_id=site.contoso.org_id)
        assert (profile.actor, profile.invoice_language) == (f"user:{site.contoso.billing_admin.user_id}", "nl")


def test_r23_a_bad_value_on_the_page_shows_the_form_again_with_the_error_and_writes_nothing(site):
    browser = site.signed_in("global_admin@contoso.example")
    token = csrf(browser, "/billing/account")
    for change, words in [
        ({"vat_id": "NL123456789B01"}, "Enter a valid VAT ID of the organisation&#39;s country"),
        ({"country": "XX"}, "Choose a country from the list."),
        ({"po_number": "P" * 500}, "Enter a purchase order number of at most 100 characters."),
    ]:
        before = snapshot(site.url)
        bad = browser.post("/billing/account", data={**_form(**change), "csrf_token": token})
        assert bad.status_code == 422, bad.text
        [error] = re.findall(r'<p class="error" role="alert">(.*?)</p>', bad.text)
        assert words in error
        assert 'value="Contoso B.V."' in bad.text  # what was typed is kept
        assert snapshot(site.url) == before


def test_r23_the_dutch_page_says_factureringsaccount_and_a_user_admin_gets_no_link_and_may_not_save(site):
    dutch = site.signed_in("billing_admin@fabrikam.example")
    page = dutch.get("/billing/account", headers={"accept-language": "nl-NL,nl;q=0.9"}).text
    assert "Factureringsaccount" in page and "Inkoopordernummer" in page and "Btw-nummer" in page
    user_admin = site.signed_in("user_admin@contoso.example")
    assert 'href="/billing/account"' not in user_admin.get("/").text
    assert 'action="/billing/account"' not in user_admin.get("/billing/account").text
    before = snapshot(site.url)
    refused = user_admin.post("/billing/account", data={**_form(), "csrf_token": csrf(user_admin)})
    assert refused.status_code == 403
    assert snapshot(site.url) == before
