"""R22: the vendor's legal profile, set and shown with `seatwise vendor`; a bad value writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from seatwise import db, demo
from seatwise.events.models import AuditEntry
from seatwise.tax import service as tax
from tests.cli.conftest import snapshot

DUTCH = [
    "--name", "Seatwise B.V.", "--address-line", "Keizersgracht 1", "--postcode", "1015 CJ", "--city", "Amsterdam",
    "--country", "nl", "--vat-id", "NL 0000.99998.B57", "--company-id", "12345678", "--iban", "NL91 ABNA 0417 1643 00",
]  # fmt: skip


def test_r22_the_operator_sets_the_vendor_profile_and_a_vat_registered_vendor_charges_vat(cli, db_url):
    out = cli.ok("vendor", "set", *DUTCH, "--oss")
    assert (out["country"], out["vat_id"], out["iban"], out["oss"], out["charges_vat"], out["invoice_prefix"]) == (
        "NL",
        "NL000099998B57",
        "NL91ABNA0417164300",
        True,
        True,
        "SW",
    )
    shown = cli("vendor", "show", json_output=False)
    assert shown.stdout.strip() == (
        "Seatwise B.V., Keizersgracht 1, 1015 CJ Amsterdam, NL; VAT ID NL000099998B57, OSS; prefix SW"
    )
    with db.read_only(db_url) as s:
        assert tax.seller_of(tax.get_vendor(s)) is not None
        [audit] = s.scalars(select(AuditEntry).where(AuditEntry.action == "vendor.updated")).all()
        assert (audit.before, audit.after["vat_id"]) == (None, "NL000099998B57")


def test_r22_a_vendor_without_a_vat_id_charges_no_vat_and_an_edit_is_audited_with_what_was_before(cli, db_url):
    cli.ok("vendor", "set", *DUTCH)
    kor = cli.ok("vendor", "set", *DUTCH[:10], "--invoice-prefix", "inv")
    assert (kor["vat_id"], kor["charges_vat"], kor["invoice_prefix"]) == (None, False, "INV")
    assert "no VAT ID: charges no VAT (KOR)" in cli("vendor", "show", json_output=False).stdout
    with db.read_only(db_url) as s:
        vendor = tax.get_vendor(s)
        assert tax.seller_of(vendor).vat_registered is False
        edits = s.scalars(select(AuditEntry).where(AuditEntry.action == "vendor.updated").order_by(AuditEntry.id))
        assert [(e.before or {}).get("vat_id") for e in edits] == [None, "NL000099998B57"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (["--vat-id", "NL123456789B01"], "invalid_vat_id"),  # a wrong checksum
        (["--vat-id", "BE0417497106"], "invalid_vat_id"),  # another country's
        (["--country", "XX"], "invalid_country"),
        (["--iban", "NL91ABNA0417164301"], "invalid_iban"),
        (["--name", "x" * 201], "invalid_name"),
        (["--postcode", " "], "invalid_address"),
        (["--invoice-prefix", "S W"], "invalid_value"),
    ],
)
def test_r22_a_bad_value_is_one_line_exit_2_and_nothing_is_written(cli, db_url, change, code):
    cli.ok("vendor", "set", *DUTCH)
    before = snapshot(db_url)
    args = [*DUTCH, "--invoice-prefix", "SW"]
    args[args.index(change[0]) + 1] = change[1]
    bad = cli("vendor", "set", *args)
    assert (bad.exit_code, bad.data["error"]["code"]) == (2, code), bad
    assert snapshot(db_url) == before


def test_r22_oss_without_a_vat_id_and_show_before_any_profile_are_refused(cli):
    no_vat = cli("vendor", "set", *DUTCH[:10], "--oss")
    assert (no_vat.exit_code, no_vat.data["error"]["code"]) == (2, "invalid_value")
    missing = cli("vendor", "show")
    assert (missing.exit_code, missing.data["error"]["code"]) == (2, "no_vendor_profile")


def test_r22_the_demo_sets_a_vat_registered_dutch_vendor_and_the_operator_console_shows_it(site):
    browser = site.signed_in("operator@seatwise.example", operator=True)
    assert "No vendor profile yet." in browser.get("/operator/vendor").text
    with db.unit_of_work(site.url) as s:
        tax.set_vendor(s, **{**demo.VENDOR, "vat_id": None, "oss": False}, actor_label="operator", now=site.clock.now())
    page = browser.get("/operator/vendor").text
    assert "Seatwise Demo B.V." in page and "a small business exempt under the Dutch KOR" in page
    with db.unit_of_work(site.url) as s:
        tax.set_vendor(s, **demo.VENDOR, actor_label="operator", now=site.clock.now())
    page = browser.get("/operator/vendor").text
    assert "NL000099998B57" in page and "KOR" not in page
