"""R24: the VAT category and rate of a line from both parties, and VAT per invoice per rate, rounded once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatwise.core.errors import BadInput
from seatwise.core.vat import (
    EU,
    OUTSIDE_EU,
    REVERSE_CHARGE,
    SMALL_BUSINESS,
    Buyer,
    Category,
    Seller,
    Treatment,
    breakdown,
    check_vat_id,
    standard_rate,
    treatment,
    vat_of,
)

DAY = date(2026, 12, 1)
DUTCH_VENDOR = Seller(country="NL", vat_registered=True, oss=False)
DUTCH_OSS_VENDOR = Seller(country="NL", vat_registered=True, oss=True)


def test_r24_a_dutch_business_pays_21_percent_btw_the_worked_example():
    how = treatment(seller=DUTCH_VENDOR, buyer=Buyer("NL", vat_id="NL000099998B57"), on=DAY)
    assert (how.category, how.rate, how.country) == (Category.STANDARD, Decimal(21), "NL")
    # 10 × €12.50 = €125.00 net; BTW 21 % = €26.25; total €151.25
    [total] = breakdown([(how, 10 * 1250)])
    assert (total.net, total.vat, total.net + total.vat) == (12500, 2625, 15125)


def test_r24_an_organisation_without_a_billing_profile_is_a_consumer_in_the_vendors_country():
    assert treatment(seller=DUTCH_VENDOR, buyer=Buyer(None), on=DAY).key == ("S", Decimal(21))


def test_r24_a_belgian_business_with_a_vat_id_is_reverse_charged():
    how = treatment(seller=DUTCH_VENDOR, buyer=Buyer("BE", vat_id="BE0417497106"), on=DAY)
    assert (how.category, how.rate, how.reason) == (Category.REVERSE_CHARGE, Decimal(0), REVERSE_CHARGE)
    assert breakdown([(how, 12500)])[0].vat == 0


def test_r24_an_eu_consumer_abroad_pays_their_rate_under_oss_and_the_vendors_rate_without():
    german = Buyer("DE")
    assert treatment(seller=DUTCH_OSS_VENDOR, buyer=german, on=DAY) == Treatment(Category.STANDARD, Decimal(19), "DE")
    assert treatment(seller=DUTCH_VENDOR, buyer=german, on=DAY) == Treatment(Category.STANDARD, Decimal(21), "NL")


def test_r24_outside_the_eu_exempt_and_a_small_business_vendor_charge_no_vat():
    assert treatment(seller=DUTCH_VENDOR, buyer=Buyer("US"), on=DAY) == Treatment(
        Category.OUTSIDE_SCOPE, Decimal(0), None, OUTSIDE_EU
    )
    exempt = treatment(seller=DUTCH_VENDOR, buyer=Buyer("NL", exempt_reason="Charity, art. 11 Wet OB"), on=DAY)
    assert (exempt.category, exempt.rate, exempt.reason) == (Category.EXEMPT, Decimal(0), "Charity, art. 11 Wet OB")
    kor = Seller(country="NL", vat_registered=False, oss=False)
    assert treatment(seller=kor, buyer=Buyer("DE", vat_id="DE136695976"), on=DAY).reason == SMALL_BUSINESS


def test_r24_rates_are_data_with_the_day_they_took_effect():
    assert [standard_rate("FI", on=d) for d in (date(2024, 8, 31), date(2024, 9, 1))] == [Decimal(24), Decimal("25.5")]
    assert [standard_rate("EE", on=d) for d in (date(2023, 6, 1), date(2024, 6, 1), date(2025, 7, 1))] == [
        Decimal(20),
        Decimal(22),
        Decimal(24),
    ]
    assert standard_rate("RO", on=date(2025, 7, 31)) == 19 and standard_rate("RO", on=date(2025, 8, 1)) == 21
    assert len(EU) == 27 and "GB" not in EU
    with pytest.raises(BadInput) as unknown:
        standard_rate("XX", on=DAY)
    assert unknown.value.code == "invalid_country"
    with pytest.raises(BadInput):
        standard_rate("NL", on=date(2022, 12, 31))


def test_r24_vat_is_summed_per_rate_then_rounded_once_half_up():
    dutch = Treatment(Category.STANDARD, Decimal(21), "NL")
    # three lines of €0.10: 3 × 2.1 cents rounded each would be 6 cents; 30 cents × 21 % = 6.3 → 6
    # two lines of €0.50: rounded each 10.5 → 11 twice = 22; summed 100 × 21 % = 21
    assert breakdown([(dutch, 10)] * 3)[0].vat == 6
    assert breakdown([(dutch, 50)] * 2)[0].vat == 21
    finnish = Treatment(Category.STANDARD, Decimal("25.5"), "FI")
    totals = breakdown([(dutch, 12500), (finnish, 1000), (dutch, -2500)])
    assert [(t.category, t.rate, t.net, t.vat) for t in totals] == [
        ("S", Decimal(21), 10000, 2100),
        ("S", Decimal("25.5"), 1000, 255),
    ]


def test_r24_a_credit_carries_vat_rounded_the_same_way_with_its_sign():
    assert vat_of(50, Decimal(21)) == 11 and vat_of(-50, Decimal(21)) == -11  # 10.5 away from zero both ways
    assert vat_of(0, Decimal(21)) == 0


@given(
    st.lists(
        st.tuples(st.sampled_from([Decimal(21), Decimal(9), Decimal("25.5"), Decimal(0)]), st.integers(-(10**9), 10**9))
    )
)
def test_r24_the_breakdown_keeps_every_net_and_each_vat_is_within_half_a_minor_unit(lines):
    totals = breakdown([(Treatment(Category.STANDARD, rate, "NL"), net) for rate, net in lines])
    assert sum(t.net for t in totals) == sum(net for _, net in lines)
    for t in totals:
        assert abs(Decimal(t.vat) - Decimal(t.net) * t.rate / 100) <= Decimal("0.5")


@pytest.mark.parametrize(
    ("given", "country", "compact"),
    [
        ("NL 0000.99998.B57", "NL", "NL000099998B57"),
        ("be0417497106", "BE", "BE0417497106"),
        ("EL094259216", "GR", "EL094259216"),
    ],
)
def test_r23_a_vat_id_is_checked_offline_and_compacted(given, country, compact):
    assert check_vat_id(given, country=country) == compact


@pytest.mark.parametrize(
    ("given", "country", "why"),
    [
        ("NL123456789B01", "NL", "invalid VAT ID 'NL123456789B01' (the number's checksum or check digit is invalid)"),
        ("BE0417497106", "NL", "VAT ID 'BE0417497106' is not one of NL: expected one that starts with NL"),
        ("NL12", "NL", "invalid VAT ID 'NL12' (the number has an invalid format)"),
    ],
)
def test_r23_a_bad_vat_id_is_one_clear_line(given, country, why):
    with pytest.raises(BadInput) as bad:
        check_vat_id(given, country=country)
    assert bad.value.code == "invalid_vat_id" and bad.value.message.startswith(why)
