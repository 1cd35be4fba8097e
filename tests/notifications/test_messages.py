"""R27: every billing e-mail in English and Dutch names the right amounts and dates (computed here from the
facts), escapes hostile names in its HTML, keeps its subject on one line and links under SEATWISE_PUBLIC_URL."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

import seatwise
from seatwise import config
from seatwise.core.errors import BadInput, SeatwiseError
from seatwise.core.money import Money
from seatwise.core.notices import TRIAL_REMINDER_DAYS, Facts, Kind, links_for, one_line, reminder_due
from seatwise.i18n import _plurals
from seatwise.notifications.messages import render

EN_MONTHS = "January February March April May June July August September October November December".split()
NL_MONTHS = "januari februari maart april mei juni juli augustus september oktober november december".split()
ON = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
FACTS = Facts(
    product="Business Premium",
    organization="Contoso",
    subscription_id=41,
    on=ON,
    until=ON + timedelta(days=30),
    amount=Money(123456, "EUR"),
    vat=Money(21426, "EUR"),
    number="SW-2026-00017",
    invoice_id=17,
    credit_note_id=3,
    days_left=7,
    reason="insufficient_funds",
    next_retry=ON + timedelta(days=3),
)
# What each kind must name: in its subject, and in its text (by the names of the facts).
NAMES = {
    Kind.TRIAL_ENDING: ({"product", "organization", "on"}, {"on", "days_left"}),
    Kind.TRIAL_CONVERTED: ({"product", "organization"}, {"on"}),
    Kind.TRIAL_EXPIRED: ({"product", "organization"}, {"on", "until"}),
    Kind.INVOICE_ISSUED: ({"number", "amount", "organization"}, {"number", "amount", "on"}),
    Kind.CREDIT_NOTE_ISSUED: ({"number", "amount", "organization"}, {"number", "amount"}),
    Kind.PAYMENT_FAILED: ({"number", "amount", "organization"}, {"amount", "number", "reason", "next_retry"}),
    Kind.DISABLED: ({"product", "organization"}, {"on", "until"}),
    Kind.CANCELLED: ({"product", "organization"}, {"on", "amount", "vat", "until"}),
    Kind.REFUND_MADE: ({"amount", "product", "organization"}, {"amount", "on"}),
    Kind.EXPIRING: ({"product", "organization", "on"}, {"on", "days_left"}),
    Kind.DELETION_SOON: ({"product", "organization", "on"}, {"on", "days_left"}),
}
REASONS = {"en": "insufficient funds", "nl": "onvoldoende saldo"}
BASE = "https://billing.contoso.example/seatwise"


def _money(m: Money, locale: str) -> str:
    major, minor = divmod(m.amount, 100)
    if locale == "nl":
        return f"€\xa0{major:,}".replace(",", ".") + f",{minor:02d}"
    return f"€{major:,}.{minor:02d}"


def _day(d: datetime, locale: str) -> str:
    return f"{d.day} {(NL_MONTHS if locale == 'nl' else EN_MONTHS)[d.month - 1]} {d.year}"


def _days(n: int, locale: str) -> str:
    if locale == "nl":
        return f"{n} dag" if n == 1 else f"{n} dagen"
    return f"{n} day," if n == 1 else f"{n} days"


def _said(facts: Facts, name: str, locale: str) -> str:
    value = getattr(facts, name)
    if isinstance(value, Money):
        return _money(value, locale)
    if isinstance(value, datetime):
        return _day(value, locale)
    if name == "days_left":
        return _days(value, locale)
    if name == "reason":
        return REASONS[locale]
    return str(value)


@pytest.fixture
def links(monkeypatch):
    monkeypatch.setenv("SEATWISE_PUBLIC_URL", BASE + "/")
    return links_for(config.public_url())


@pytest.mark.parametrize("locale", ["en", "nl"])
@pytest.mark.parametrize("kind", list(Kind))
def test_r27_every_message_names_its_amounts_and_dates_in_both_languages(kind, locale, links):
    in_subject, in_text = NAMES[kind]
    message = render(kind, FACTS, locale=locale, links=links)
    assert (message.kind, message.locale) == (kind, locale)
    for name in in_subject:
        assert _said(FACTS, name, locale) in message.subject, (name, message.subject)
    for name in in_text | {"organization"}:
        assert _said(FACTS, name, locale) in message.text, (name, message.text)
        assert _said(FACTS, name, locale).replace("&", "&amp;") in message.html, name
    hrefs = re.findall(r'href="([^"]+)"', message.html)
    assert hrefs and all(h.startswith(BASE + "/billing/") for h in hrefs), hrefs
    assert all(url.startswith(BASE + "/billing/") for url in re.findall(r"https?://\S+", message.text))
    assert f'<html lang="{locale}">' in message.html


@pytest.mark.parametrize("locale", ["en", "nl"])
def test_r27_the_dutch_and_english_words_differ_and_follow_the_glossary(locale, links):
    words = {kind: render(kind, FACTS, locale=locale, links=links) for kind in Kind}
    if locale == "nl":
        assert "proefabonnement" in words[Kind.TRIAL_ENDING].subject.lower()
        assert words[Kind.INVOICE_ISSUED].subject.startswith("Factuur ")
        assert words[Kind.CREDIT_NOTE_ISSUED].subject.startswith("Creditnota ")
        assert "Nu betalen" in words[Kind.PAYMENT_FAILED].html
        assert "btw" in words[Kind.CANCELLED].text and "tegoed" in words[Kind.CANCELLED].text
    else:
        assert "Pay now" in words[Kind.PAYMENT_FAILED].html and "trial" in words[Kind.TRIAL_ENDING].subject


@pytest.mark.parametrize("locale", ["en", "nl"])
@pytest.mark.parametrize("days", TRIAL_REMINDER_DAYS)
def test_r27_trial_ending_says_whether_it_converts_or_expires_and_counts_its_days(days, locale, links):
    ends = ON + timedelta(days=days)
    assert reminder_due(ends_at=ends, now=ON, days=TRIAL_REMINDER_DAYS) == days
    assert reminder_due(ends_at=ends + timedelta(days=1), now=ON, days=TRIAL_REMINDER_DAYS) is None
    facts = dataclasses.replace(FACTS, on=ends, days_left=days)
    converts = render(Kind.TRIAL_ENDING, dataclasses.replace(facts, converts=True), locale=locale, links=links)
    expires = render(Kind.TRIAL_ENDING, facts, locale=locale, links=links)
    paid, ends_word = ("betaald abonnement", "verloopt") if locale == "nl" else ("paid subscription", "expires")
    assert paid in converts.subject and ends_word in expires.subject and paid not in expires.subject
    for message in (converts, expires):
        assert _day(ends, locale) in message.subject and _days(days, locale) in message.text


@pytest.mark.parametrize("locale", ["en", "nl"])
@pytest.mark.parametrize("kind", list(Kind))
def test_r27_the_html_escapes_hostile_names_and_no_subject_has_a_line_break(kind, locale, links):
    hostile = dataclasses.replace(
        FACTS, product="<script>alert(1)</script>\r\nBcc: all@evil.example", organization='Evil "Co" <img src=x>'
    )
    message = render(kind, hostile, locale=locale, links=links)
    assert "<script>" not in message.html and "<img" not in message.html
    assert "&lt;script&gt;" in message.html or "&lt;img src=x&gt;" in message.html
    assert "\r" not in message.subject and "\n" not in message.subject
    assert "\u2028" not in one_line("a\u2028b") and one_line("a\r\n\r\nb") == "a b"


def test_r27_payment_failed_without_a_next_retry_says_no_more_attempts_and_still_links_pay_now(links):
    message = render(Kind.PAYMENT_FAILED, dataclasses.replace(FACTS, next_retry=None), locale="en", links=links)
    assert "No more attempts are made." in message.text
    assert f'href="{BASE}/billing/invoices/17#pay-title"' in message.html


def test_r27_missing_facts_and_a_relative_public_url_are_refused(monkeypatch):
    with pytest.raises(BadInput, match="needs amount, number"):
        render(
            Kind.INVOICE_ISSUED,
            dataclasses.replace(FACTS, amount=None, number=None),
            locale="en",
            links=links_for(BASE),
        )
    monkeypatch.setenv("SEATWISE_PUBLIC_URL", "billing.contoso.example")
    with pytest.raises(SeatwiseError, match="SEATWISE_PUBLIC_URL"):
        config.public_url()
    monkeypatch.delenv("SEATWISE_PUBLIC_URL")
    assert config.public_url() == "http://127.0.0.1:8000"


def test_r27_every_message_with_a_number_uses_plural_forms():
    source = Path(seatwise.__file__).parent / "notifications" / "messages.py"
    keywords = {"say": None, "n": (1, 2), "gettext": (2,)}
    found = [m for _line, m, _comments, _context in extract_from_file("python", source, keywords=keywords) if m]
    singles = [m for m in found if isinstance(m, str)]
    plurals = [m for m in found if isinstance(m, tuple)]
    assert len(singles) > 40 and len(plurals) == 3
    # A count is only ever {count} of an ngettext message; no single message counts anything.
    assert [m for m in singles if "{count}" in m or re.search(r"\d", m)] == []
    assert all("{count}" in one and "{count}" in many for one, many in plurals)
    dutch = _plurals("nl")
    assert all(len(dutch[one]) == 2 for one, _many in plurals)
