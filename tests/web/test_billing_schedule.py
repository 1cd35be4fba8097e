"""R32 in the operator console: the automatic billing run's last pass (when, what it did, or why it failed)
and the next, in English and Dutch."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from seatwise.billing_run import schedule
from seatwise.clock import FixedClock
from tests.conftest import T0

OPERATOR = "operator@seatwise.example"
DEC = T0 + timedelta(days=30)  # both organisations' subscriptions renew


def _section(page: str) -> str:
    found = re.search(r'<section class="card" id="automatic-run">(.*?)</section>', page, re.S)
    assert found, page
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found[1])).split())


def test_r32_the_console_shows_the_last_automatic_run_and_the_next(site, monkeypatch):
    site.clock.at = DEC
    operator = site.signed_in(OPERATOR, operator=True)
    assert _section(operator.get("/operator/billing-runs").text) == (
        "Automatic billing runs No automatic billing run yet: every seatwise worker and seatwise serve makes one "
        "every few minutes."
    )
    done = schedule.run_pass(site.url, clock=FixedClock(DEC), every=timedelta(minutes=5))
    page = operator.get("/operator/billing-runs").text
    assert _section(page) == (
        "Automatic billing runs Last run: 1 December 2026 09:30 UTC · 2 subscriptions handled, 4 invoices issued, "
        f"4 payments succeeded, 0 failed. Billing run {done.run_id} Next run by: 1 December 2026 09:35 UTC"
    )
    assert f'<a href="/operator/billing-runs/{done.run_id}">' in page and "<td>Automatic</td>" in page
    dutch = _section(operator.get("/operator/billing-runs", headers={"accept-language": "nl"}).text)
    assert dutch == (
        "Automatische factureringsruns Laatste run: 1 december 2026 09:30 UTC · 2 abonnementen verwerkt, "
        f"4 facturen aangemaakt, 4 betalingen gelukt, 0 mislukt. Factureringsrun {done.run_id} "
        "Volgende run uiterlijk: 1 december 2026 09:35 UTC"
    )
    # A failed pass says why; a whole interval past the next run, nobody is making them.
    monkeypatch.setenv("SEATWISE_GATEWAY", "none-such")
    schedule.run_pass(site.url, clock=FixedClock(DEC + timedelta(minutes=5)), every=timedelta(minutes=5))
    site.clock.at = DEC + timedelta(minutes=21)
    shown = _section(operator.get("/operator/billing-runs").text)
    assert shown.startswith("Automatic billing runs Last run: 1 December 2026 09:35 UTC · 0 subscriptions handled")
    assert "Failed: SeatwiseError: invalid SEATWISE_GATEWAY 'none-such'" in shown
    assert shown.endswith(
        "Next run by: 1 December 2026 09:40 UTC Overdue: is seatwise worker or seatwise serve running?"
    )
