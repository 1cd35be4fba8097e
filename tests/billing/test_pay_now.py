"""R21 with real money: Pay now over the API, the CLI and the admin center, backup cards, removing payment
methods, and dunning that stops when the subscription is cancelled, each failed attempt shown with its
reason and the next retry date."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from seatwise.billing import ledger
from seatwise.billing import service as billing
from seatwise.billing.models import Invoice
from seatwise.core.roles import OPERATOR
from seatwise.events.models import AuditEntry
from seatwise.organizations import service as organizations
from seatwise.payments.models import Payment, PaymentMethod
from seatwise.subscriptions import service as subscriptions
from tests.api import client_with_key
from tests.cli.conftest import Cli, snapshot
from tests.conftest import T0
from tests.factories import add_method, run_billing, world
from tests.web.conftest import PASSWORD, csrf, sign_in

GOOD, DECLINED, EXPIRED = "4242424242424242", "4000000000000341", "4000000000000069"
NOV_2, NOV_5, DEC_2 = (datetime(2026, m, d, tzinfo=UTC) for m, d in ((11, 2), (11, 5), (12, 2)))


def _buy(uow, *, cards=(DECLINED,), invoice: bool = False, name: str = "Contoso", locale: str = "en"):
    """An organisation with these cards (the last one added is the default) that bought 10 licences at T0."""
    with uow() as s:
        w = world(s, now=T0, users=0, card=False, name=name, sku=name.upper(), locale=locale)
        for card in cards:
            add_method(s, org_id=w.org_id, card_number=card, expiry="12/30", actor=OPERATOR, now=T0)
        if invoice:
            add_method(s, org_id=w.org_id, invoice=True, actor=OPERATOR, now=T0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=10, actor=w.billing_admin, now=T0)
    return w, sub.id


def _attempts(uow, invoice_id: int) -> list[tuple]:
    with uow() as s:
        rows = s.execute(
            select(Payment.status, Payment.failure_code, Payment.at, PaymentMethod.last4)
            .join(PaymentMethod, PaymentMethod.id == Payment.method_id)
            .where(Payment.invoice_id == invoice_id)
            .order_by(Payment.id)
        )
        return [tuple(row) for row in rows]


def _first_invoice(uow, org_id: int) -> Invoice:
    with uow() as s:
        return billing.list_invoices(s, org_id=org_id)[0]


def test_r21_pay_now_over_the_api_with_a_new_card_reactivates_the_disabled_subscription_at_once(uow, db_url):
    w, sub_id = _buy(uow)
    run_billing(uow, as_of=DEC_2)  # declined on 2, 5, 7 and 9 November; disabled on 2 December
    paid_at = datetime(2026, 12, 3, 10, tzinfo=UTC)
    admin = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.billing_admin.user_id, at=paid_at)
    assert admin.get(f"/v1/subscriptions/{sub_id}").json()["status"] == "disabled"
    added = admin.post(f"/v1/organizations/{w.org_id}/payment-methods", json={"card": GOOD, "exp": "12/30"})
    assert added.status_code == 201, added.text
    first = _first_invoice(uow, w.org_id)

    paid = admin.post(f"/v1/invoices/{first.id}/pay", json={})

    assert paid.status_code == 200, paid.text
    body = paid.json()
    assert (body["status"], body["paid_at"], body["next_retry_at"], body["disabled_on"]) == (
        "paid",
        "2026-12-03T10:00:00Z",
        None,
        None,
    )
    assert [(p["status"], p["failure_code"], p["card"]) for p in body["payments"]] == [
        ("failed", "declined", "visa •••• 0341"),
    ] * 4 + [("succeeded", None, "visa •••• 4242")]
    # R21: back at once, not at the next billing run; December's invoice is not yet 30 days overdue
    assert admin.get(f"/v1/subscriptions/{sub_id}").json()["status"] == "active"
    with uow() as s:
        assert ledger.check_ledger(s) == []
        [audit] = s.scalars(select(AuditEntry).where(AuditEntry.action == "invoice.pay_now")).all()
        assert (audit.actor, audit.entity_id) == (w.billing_admin.label, first.id)


def test_r21_a_declined_pay_now_shows_the_attempt_and_keeps_the_retry_schedule(uow, db_url):
    w, _ = _buy(uow)
    run_billing(uow, as_of=NOV_2)
    first = _first_invoice(uow, w.org_id)
    admin = client_with_key(
        uow, db_url, org_id=w.org_id, as_user=w.global_admin.user_id, at=datetime(2026, 11, 3, 9, tzinfo=UTC)
    )

    body = admin.post(f"/v1/invoices/{first.id}/pay", json={}).json()

    assert body["status"] == "open"
    assert [(p["status"], p["failure_code"], p["at"]) for p in body["payments"]] == [
        ("failed", "declined", "2026-11-02T00:00:00Z"),
        ("failed", "declined", "2026-11-03T09:00:00Z"),
    ]
    # still day 3 after issue, then days 5 and 7; disabled 30 days past the due date if still unpaid
    assert (body["next_retry_at"], body["disabled_on"]) == ("2026-11-05T00:00:00Z", "2026-12-02T00:00:00Z")
    run_billing(uow, as_of=NOV_5)
    assert [a[2] for a in _attempts(uow, first.id)] == [NOV_2, datetime(2026, 11, 3, 9, tzinfo=UTC), NOV_5]


def test_r21_pay_now_is_refused_without_a_usable_card_and_for_a_user_admin_and_changes_nothing(uow, db_url):
    w, _ = _buy(uow, cards=(), invoice=True)
    run_billing(uow, as_of=NOV_2)
    first = _first_invoice(uow, w.org_id)
    before = snapshot(db_url)
    billing_admin = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.billing_admin.user_id, at=NOV_5)
    user_admin = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.user_admin.user_id, at=NOV_5)
    keys_made = snapshot(db_url)

    no_card = billing_admin.post(f"/v1/invoices/{first.id}/pay", json={})
    not_allowed = user_admin.post(f"/v1/invoices/{first.id}/pay", json={})
    unknown = billing_admin.post(f"/v1/invoices/{first.id}/pay", json={"payment_method_id": 999})

    assert (no_card.status_code, no_card.json()["code"]) == (409, "no_usable_card")
    assert (not_allowed.status_code, not_allowed.json()["code"]) == (403, "not_authorized")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_payment_method")
    assert snapshot(db_url) == keys_made and before["payments"] == keys_made["payments"]


def test_r21_a_backup_card_is_charged_at_once_when_the_default_is_declined(uow, db_url):
    w, _ = _buy(uow, cards=(GOOD, DECLINED))  # 0341 is the newest, so the default; 4242 the backup
    run_billing(uow, as_of=NOV_2)
    first = _first_invoice(uow, w.org_id)
    assert first.status == "paid"
    assert _attempts(uow, first.id) == [("failed", "declined", NOV_2, "0341"), ("succeeded", None, NOV_2, "4242")]
    with uow() as s:
        assert ledger.check_ledger(s) == []


def test_r21_every_card_declined_is_tried_once_each_round_then_the_schedule_goes_on(uow, db_url):
    w, _ = _buy(uow, cards=("4000000000009995", DECLINED))
    run_billing(uow, as_of=NOV_5)
    first = _first_invoice(uow, w.org_id)
    assert _attempts(uow, first.id) == [
        ("failed", "declined", NOV_2, "0341"),
        ("failed", "insufficient_funds", NOV_2, "9995"),
        ("failed", "declined", NOV_5, "0341"),
        ("failed", "insufficient_funds", NOV_5, "9995"),
    ]
    assert (first.status, first.next_action_at) == ("open", datetime(2026, 11, 7, tzinfo=UTC))


def test_r21_retries_stop_when_the_subscription_is_cancelled(uow, db_url):
    w, sub_id = _buy(uow)
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        subscriptions.cancel(s, sub_id=sub_id, actor=w.billing_admin, now=datetime(2026, 11, 3, 10, tzinfo=UTC))
    run_billing(uow, as_of=datetime(2026, 11, 30, tzinfo=UTC))
    first = _first_invoice(uow, w.org_id)
    assert [a[0] for a in _attempts(uow, first.id)] == ["failed"]  # not retried on 5, 7 or 9 November
    assert (first.status, first.next_action_at) == ("open", None)  # still owed: Pay now can settle it
    with uow() as s:
        assert subscriptions.get(s, sub_id=sub_id).status_reason == "canceled"  # not disabled for non-payment
        assert billing.dunning_dates(first) == billing.DunningDates(None, None)


def test_r21_a_hard_decline_waits_for_a_new_card_which_is_charged_on_the_next_retry_day(uow, db_url):
    w, _ = _buy(uow, cards=(EXPIRED,))
    run_billing(uow, as_of=NOV_5 - timedelta(seconds=1))
    with uow() as s:
        add_method(s, org_id=w.org_id, card_number=GOOD, expiry="12/30", actor=OPERATOR, now=NOV_5 - timedelta(hours=1))
    run_billing(uow, as_of=NOV_5)
    first = _first_invoice(uow, w.org_id)
    assert _attempts(uow, first.id) == [("failed", "expired_card", NOV_2, "0069"), ("succeeded", None, NOV_5, "4242")]
    assert first.status == "paid"


def test_r21_the_last_payment_method_of_a_renewing_subscription_cannot_be_removed(uow, db_url):
    w, _ = _buy(uow, cards=(GOOD,))
    with uow() as s:
        [old] = s.scalars(select(PaymentMethod).where(PaymentMethod.org_id == w.org_id)).all()
    admin = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.billing_admin.user_id, at=NOV_5)
    before = snapshot(db_url)

    refused = admin.delete(f"/v1/organizations/{w.org_id}/payment-methods/{old.id}")

    assert (refused.status_code, refused.json()["code"]) == (409, "payment_method_in_use")
    assert snapshot(db_url) == before
    new = admin.post(f"/v1/organizations/{w.org_id}/payment-methods", json={"card": GOOD, "exp": "11/31"}).json()
    assert admin.delete(f"/v1/organizations/{w.org_id}/payment-methods/{old.id}").status_code == 204
    assert [m["id"] for m in admin.get(f"/v1/organizations/{w.org_id}/payment-methods").json()["data"]] == [new["id"]]
    again = admin.delete(f"/v1/organizations/{w.org_id}/payment-methods/{old.id}")
    assert (again.status_code, again.json()["code"]) == (404, "unknown_payment_method")
    with uow() as s:
        assert s.scalar(select(AuditEntry.actor).where(AuditEntry.action == "payment_method.removed")) == (
            w.billing_admin.label
        )


def test_r21_another_organisations_payment_method_and_invoice_answer_as_missing_ones(uow, db_url):
    w, _ = _buy(uow, cards=(GOOD,))
    other, _ = _buy(uow, cards=(GOOD, GOOD), name="Fabrikam")
    run_billing(uow, as_of=NOV_2)
    with uow() as s:
        theirs = s.scalars(select(PaymentMethod.id).where(PaymentMethod.org_id == other.org_id)).first()
    admin = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.billing_admin.user_id, at=NOV_5)
    gone = admin.delete(f"/v1/organizations/{w.org_id}/payment-methods/{theirs}")
    assert (gone.status_code, gone.json()["code"]) == (404, "unknown_payment_method")
    their_invoice = _first_invoice(uow, other.org_id)
    hidden = admin.post(f"/v1/invoices/{their_invoice.id}/pay", json={})
    assert (hidden.status_code, hidden.json()["code"]) == (404, "unknown_invoice")


def test_r21_cli_pay_now_says_what_happened(uow, db_url):
    w, _ = _buy(uow)
    run_billing(uow, as_of=NOV_2)
    first = _first_invoice(uow, w.org_id)
    cli = Cli(db_url, now=datetime(2026, 11, 3, 9, tzinfo=UTC))
    declined = cli("invoice", "pay-now", first.id, "--as", w.billing_admin.user_id, json_output=False)
    assert declined.exit_code == 0, declined
    assert declined.stdout.strip() == (
        f"invoice {first.number} is still open: visa •••• 0341 was declined (declined); next retry 2026-11-05"
    )
    card = cli.ok("payment-method", "add", "--org", w.org_id, "--card", GOOD, "--exp", "12/30")
    paid = cli.ok("invoice", "pay-now", first.id, "--method", card["id"], "--as", w.billing_admin.user_id)
    assert (paid["status"], paid["payments"][-1]["card"]) == ("paid", "visa •••• 4242")
    gone = cli("payment-method", "remove", "--org", w.org_id, 424242)
    assert (gone.exit_code, gone.data["error"]["code"]) == (2, "unknown_payment_method")


def test_r21_the_invoice_page_shows_each_failed_attempt_and_pays_now(uow, db_url):
    from fastapi.testclient import TestClient

    from seatwise.app import create_app
    from seatwise.clock import FixedClock

    w, _ = _buy(uow, locale="nl")
    run_billing(uow, as_of=NOV_5)
    first = _first_invoice(uow, w.org_id)
    with uow() as s:
        organizations.set_password(s, user_id=w.billing_admin.user_id, password=PASSWORD, now=T0)
    browser = TestClient(
        create_app(url=db_url, clock=FixedClock(datetime(2026, 11, 6, 9, tzinfo=UTC))), follow_redirects=False
    )
    assert sign_in(browser, "billing_admin@contoso.example", PASSWORD).status_code == 303
    browser.post("/language", data={"csrf_token": csrf(browser), "locale": "nl"})
    page = browser.get(f"/billing/invoices/{first.id}").text
    assert page.count("geweigerd door de bank") == 2  # 2 and 5 November, each with its reason
    assert "De kaart wordt op 7 november 2026 opnieuw belast." in page
    assert "Is deze factuur op 2 december 2026 nog niet betaald" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    posted = browser.post(
        f"/billing/invoices/{first.id}/pay",
        data={"csrf_token": token, "method": "new", "card": GOOD, "expiry": "12/30"},
    )

    assert (posted.status_code, posted.headers["location"]) == (303, f"/billing/invoices/{first.id}?done=paid")
    after = browser.get(posted.headers["location"]).text
    assert "De factuur is betaald." in after and "Nu betalen" not in after
    assert [a[0] for a in _attempts(uow, first.id)] == ["failed", "failed", "succeeded"]
