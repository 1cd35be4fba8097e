"""What a browser may do with Seatwise's answers: no other origin's script, nothing kept after sign-out."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from seatwise.apikeys import service as apikeys
from seatwise.clock import FixedClock
from seatwise.core.roles import OPERATOR
from seatwise.tax import service as tax
from tests.conftest import T0
from tests.factories import run_billing
from tests.web.test_pages import ADMIN
from tests.web.test_pdf import VENDOR


def _policy(response) -> dict[str, str]:
    parts = (p.strip().split(" ", 1) for p in response.headers["content-security-policy"].split(";"))
    return dict(parts)


def test_signed_in_pages_api_answers_and_documents_are_never_stored(site, uow):
    with uow() as s:
        _, key = apikeys.create(s, operator=True, org_id=None, as_user=None, now=T0)
        tax.set_vendor(s, **VENDOR, actor_label=OPERATOR.label, now=T0)  # the invoice's legal documents need it
    run_billing(uow, as_of=T0 + timedelta(days=31))  # the first renewal's invoice
    site.clock = FixedClock(T0 + timedelta(days=31))
    client = site.signed_in(ADMIN)
    invoices = client.get("/billing/invoices")
    invoice = re.search(r'href="/billing/invoices/([0-9]+)"', invoices.text).group(1)
    for response in (
        client.get("/"),
        invoices,
        client.get(f"/billing/invoices/{invoice}"),
        client.get(f"/billing/invoices/{invoice}/pdf"),
        client.get(f"/billing/invoices/{invoice}/ubl"),
        client.get(f"/v1/organizations/{site.contoso.org_id}", headers={"Authorization": f"Bearer {key}"}),
    ):
        assert response.status_code == 200, response.url
        assert response.headers["cache-control"] == "no-store", response.url
    assert "no-store" not in client.get("/static/style.css").headers.get("cache-control", "")
    page = client.get(f"/billing/invoices/{invoice}").text  # R26: both legal documents to download
    assert f'href="/billing/invoices/{invoice}/ubl"' in page and "Download UBL" in page
    ubl = client.get(f"/billing/invoices/{invoice}/ubl")
    assert ubl.headers["content-type"].startswith("application/xml") and b"<Invoice" in ubl.content


def test_the_content_security_policy_allows_only_the_apps_own_scripts_and_no_eval(uow, db_url):
    from seatwise.app import create_app

    client = TestClient(create_app(url=db_url, clock=FixedClock(T0)))
    page = client.get("/signin")
    policy = _policy(page)
    assert policy["script-src"] == "'self'" and policy["default-src"] == "'self'"
    assert "unsafe" not in page.headers["content-security-policy"]
    assert (policy["object-src"], policy["base-uri"], policy["frame-ancestors"]) == ("'none'", "'none'", "'none'")
    assert "<script>" not in page.text and 'allowEval":false' in page.text


def test_api_docs_load_no_third_party_script_unless_the_operator_turns_them_on(db_url, monkeypatch):
    from seatwise.app import create_app

    docs = TestClient(create_app(url=db_url, clock=FixedClock(T0))).get("/docs")
    assert docs.status_code == 404 and "cdn.jsdelivr.net" not in docs.text
    monkeypatch.setenv("SEATWISE_API_DOCS", "1")
    docs = TestClient(create_app(url=db_url, clock=FixedClock(T0))).get("/docs")
    assert docs.status_code == 200 and "cdn.jsdelivr.net" in docs.text
    assert "https://cdn.jsdelivr.net" in _policy(docs)["script-src"]
