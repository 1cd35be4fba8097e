"""R23, R24: the billing profile decides the VAT of a real billing run, and an issued invoice keeps naming both
profiles as they were when it was issued. The vendor is a Dutch VAT-registered business (21 %); the `world`
product costs €12.50 a licence a month; T0 is 1 November 2026."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from seatwise.billing import ledger
from seatwise.billing import service as billing
from seatwise.billing.models import Invoice
from seatwise.core.roles import OPERATOR
from seatwise.subscriptions import service as subscriptions
from seatwise.tax import service as tax
from seatwise.tax.models import BillingProfile, VendorProfileVersion
from tests.conftest import T0
from tests.factories import run_billing, world

NOV_2, NOV_3, DEC_2 = (datetime(2026, m, d, tzinfo=UTC) for m, d in ((11, 2), (11, 3), (12, 2)))
VENDOR = dict(
    name="Seatwise B.V.",
    address_line="Keizersgracht 1",
    postcode="1015 CJ",
    city="Amsterdam",
    country="NL",
    vat_id="NL000099998B57",
    company_id="12345678",
    iban="NL91ABNA0417164300",
    oss=False,
    invoice_prefix="SW",
)
DUTCH_BUSINESS = dict(
    legal_name="Contoso B.V.", address_line="Dam 1", postcode="1012 JS", city="Amsterdam", country="NL",
    vat_id="NL000099998B57",
)  # fmt: skip
BELGIAN_BUSINESS = dict(
    legal_name="Contoso NV", address_line="Wetstraat 16", postcode="1000", city="Brussel", country="BE",
    vat_id="BE0776091951",
)  # fmt: skip


def _profile(s, org_id: int, *, at: datetime = T0, **fields) -> BillingProfile:
    given = dict(vat_id=None, po_number=None, exempt_reason=None, invoice_emails=[], invoice_language="en")
    return tax.set_billing_profile(s, org_id=org_id, **{**given, **fields}, actor_label=OPERATOR.label, now=at)


@pytest.mark.parametrize(
    ("buyer", "category", "rate", "vat", "total"),
    [
        (DUTCH_BUSINESS, "S", "21", 2625, 15125),
        (BELGIAN_BUSINESS, "AE", "0", 0, 12500),
        ({**DUTCH_BUSINESS, "exempt_reason": "Exempt under article 11 Wet OB"}, "E", "0", 0, 12500),
        ({**DUTCH_BUSINESS, "country": "US", "vat_id": None}, "O", "0", 0, 12500),
    ],
    ids=["dutch-business", "belgian-business-reverse-charge", "exempt", "outside-the-eu"],
)
def test_r23_r24_ten_licences_at_12_50_carry_the_vat_of_the_billing_profile(uow, buyer, category, rate, vat, total):
    with uow() as s:
        tax.set_vendor(s, **VENDOR, actor_label=OPERATOR.label, now=T0)
        w = world(s, now=T0, users=0)
        _profile(s, w.org_id, **buyer)
        subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=w.org_id)
        [line] = billing.lines_of(s, invoice_id=invoice.id)
        assert (line.amount, line.vat_category, line.vat_rate) == (12500, category, rate)
        assert (invoice.net, invoice.vat, invoice.total, invoice.status) == (12500, vat, total, "paid")
        assert ledger.check_ledger(s) == []


def test_r23_an_organisation_without_a_billing_profile_pays_the_vendors_rate(uow):
    with uow() as s:
        tax.set_vendor(s, **VENDOR, actor_label=OPERATOR.label, now=T0)
        w = world(s, now=T0, users=0)
        subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=T0)
        assert tax.buyers_of(s, org_ids=[w.org_id]) == {}
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        [invoice] = billing.list_invoices(s, org_id=w.org_id)
        assert (invoice.vat, invoice.total, invoice.billing_profile_id) == (2625, 15125, None)


def test_r23_an_issued_invoice_keeps_pointing_at_both_profiles_as_they_were_after_edits(uow):
    with uow() as s:
        tax.set_vendor(s, **VENDOR, actor_label=OPERATOR.label, now=T0)
        w = world(s, now=T0, users=0)
        first = _profile(s, w.org_id, **BELGIAN_BUSINESS, po_number="PO-1")
        subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        [issued] = billing.list_invoices(s, org_id=w.org_id)
        vendor_then = issued.vendor_version_id
        assert issued.billing_profile_id == first.id
        assert s.get(VendorProfileVersion, vendor_then).address_line == "Keizersgracht 1"
        # The organisation moves to the Netherlands and the vendor to another street.
        second = _profile(s, w.org_id, at=NOV_3, **DUTCH_BUSINESS, po_number="PO-2")
        tax.set_vendor(s, **{**VENDOR, "address_line": "Herengracht 2"}, actor_label=OPERATOR.label, now=NOV_3)
    run_billing(uow, as_of=DEC_2)
    with uow() as s:
        old, new = billing.list_invoices(s, org_id=w.org_id)
        assert (old.id, old.billing_profile_id, old.vendor_version_id) == (issued.id, first.id, vendor_then)
        kept = s.get(BillingProfile, old.billing_profile_id)
        assert (kept.country, kept.vat_id, kept.po_number) == ("BE", "BE0776091951", "PO-1")
        assert s.get(VendorProfileVersion, old.vendor_version_id).address_line == "Keizersgracht 1"
        assert new.billing_profile_id == second.id and new.vendor_version_id != vendor_then
        assert s.get(VendorProfileVersion, new.vendor_version_id).address_line == "Herengracht 2"
        # December is invoiced to the Dutch business: 21 % on 12500
        assert (new.vat, new.total) == (2625, 15125)
        assert s.get(Invoice, old.id).vat == 0
