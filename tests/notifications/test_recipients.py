"""R27: billing e-mail goes to the organisation's Global and Billing admins and up to 5 billing notification
addresses, set with the CLI, the API and the Billing notifications page; changes are audited and bad input
writes nothing."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from seatwise import db
from seatwise.core.roles import OPERATOR
from seatwise.events.models import AuditEntry
from seatwise.organizations import notifications
from seatwise.organizations import service as organizations
from seatwise.organizations.models import BillingNotificationAddress, User
from tests.api import client_with_key
from tests.cli.conftest import one_line_error, snapshot
from tests.conftest import T0
from tests.factories import world
from tests.web.conftest import csrf


def _addresses(url: str) -> int:
    with db.read_only(url) as s:
        return s.scalar(select(func.count()).select_from(BillingNotificationAddress))


def test_r27_recipients_are_global_and_billing_admins_and_the_addresses_each_in_its_language_once(uow):
    with uow() as s:
        w = world(s, now=T0, users=2, locale="nl")
        other = world(s, now=T0, users=0, name="Fabrikam", sku="FAB")
        s.get(User, w.billing_admin.user_id).locale = "en"  # chose English in the admin center
        second = organizations.add_user(
            s, org_id=w.org_id, email="Second@Contoso.example", name=None, role="global_admin", actor=OPERATOR, now=T0
        )
        gone = organizations.add_user(
            s, org_id=w.org_id, email="gone@contoso.example", name=None, role="billing_admin", actor=OPERATOR, now=T0
        )
        organizations.remove_user(s, user_id=gone.id, actor=OPERATOR, now=T0 + timedelta(hours=1))
        notifications.set_addresses(
            s,
            org_id=w.org_id,
            emails=["ap@contoso.example", "billing_admin@contoso.example", "second@contoso.example"],
            actor_label="operator",
            now=T0,
        )
    with uow() as s:
        found = notifications.billing_recipients(s, org_id=w.org_id)
        theirs = notifications.billing_recipients(s, org_id=other.org_id)
    assert [(r.email, r.locale, r.user_id) for r in found] == [
        ("global_admin@contoso.example", "nl", w.global_admin.user_id),
        ("billing_admin@contoso.example", "en", w.billing_admin.user_id),
        ("second@contoso.example", "nl", second.id),
        ("ap@contoso.example", "nl", None),  # an extra address reads the organisation's language
    ]
    emails = {r.email for r in found}
    assert "user_admin@contoso.example" not in emails and "gone@contoso.example" not in emails
    assert not any(e.startswith("user") and e != "user_admin@contoso.example" for e in emails)  # no plain users
    assert [r.email for r in theirs] == ["global_admin@fabrikam.example", "billing_admin@fabrikam.example"]


def test_r27_the_cli_adds_removes_and_lists_addresses_audited_and_duplicates_are_ignored(cli, db_url):
    org = cli.ok("org", "add", "--name", "Fabrikam")
    out = cli.ok("org", "notifications", org["id"], "--add-email", "AP@fab.example", "--add-email", "ap@fab.example",
                 "--add-email", "boss@fab.example")  # fmt: skip
    assert out == {"org_id": org["id"], "emails": ["ap@fab.example", "boss@fab.example"]}
    out = cli.ok(
        "org", "notifications", org["id"], "--remove-email", "BOSS@fab.example", "--add-email", "cfo@fab.example"
    )
    assert out["emails"] == ["ap@fab.example", "cfo@fab.example"]
    shown = cli("org", "notifications", org["id"], json_output=False)
    assert shown.stdout.split() == ["ap@fab.example", "cfo@fab.example"]
    with db.read_only(db_url) as s:
        changes = s.execute(
            select(AuditEntry.action, AuditEntry.actor, AuditEntry.org_id, AuditEntry.before, AuditEntry.after)
            .where(AuditEntry.action.like("billing_notification.%"))
            .order_by(AuditEntry.id)
        ).all()
    assert [(a, actor, o, (b or {}).get("email"), (after or {}).get("email")) for a, actor, o, b, after in changes] == [
        ("billing_notification.added", "operator", org["id"], None, "ap@fab.example"),
        ("billing_notification.added", "operator", org["id"], None, "boss@fab.example"),
        ("billing_notification.removed", "operator", org["id"], "boss@fab.example", None),
        ("billing_notification.added", "operator", org["id"], None, "cfo@fab.example"),
    ]


def test_r27_bad_addresses_are_one_line_naming_each_and_more_than_five_are_refused_writing_nothing(cli, db_url):
    org = cli.ok("org", "add", "--name", "Fabrikam")
    cli.ok("org", "notifications", org["id"], "--add-email", "ap@fab.example")
    before, count = snapshot(db_url), _addresses(db_url)
    args = ["--add-email", "not-an-address", "--add-email", "ok@fab.example", "--add-email", "two@@fab"]
    bad = cli("org", "notifications", org["id"], *args)
    assert (bad.exit_code, bad.data["error"]["code"]) == (2, "invalid_email")
    assert bad.data["error"]["detail"] == ["not-an-address", "two@@fab"]
    line = one_line_error(cli("org", "notifications", org["id"], *args, json_output=False))
    assert "'not-an-address'" in line and "'two@@fab'" in line and "'ok@fab.example'" not in line
    many = [arg for n in range(5) for arg in ("--add-email", f"ap{n}@fab.example")]
    refused = cli("org", "notifications", org["id"], *many)
    assert (refused.exit_code, refused.data["error"]["code"]) == (2, "too_many_notification_emails")
    assert "(6)" in refused.data["error"]["message"]
    unknown = cli("org", "notifications", 999, "--add-email", "x@fab.example")
    assert (unknown.exit_code, unknown.data["error"]["code"]) == (2, "unknown_org")
    assert (_addresses(db_url), snapshot(db_url)) == (count, before)
    # Five, with a duplicate typed twice, is within the limit.
    five = [arg for n in range(4) for arg in ("--add-email", f"ap{n}@fab.example")] + ["--add-email", "AP0@fab.example"]
    assert len(cli.ok("org", "notifications", org["id"], *five)["emails"]) == 5


def test_r27_api_global_and_billing_admins_and_the_operator_write_other_admins_read_strangers_get_404(uow, db_url):
    with uow() as s:
        w = world(s, now=T0, users=0)
        other = world(s, now=T0, users=0, name="Fabrikam", sku="FAB")
    path = f"/v1/organizations/{w.org_id}/billing-notifications"
    billing = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.billing_admin.user_id)
    assert billing.get(path).json() == {"org_id": w.org_id, "emails": []}
    put = billing.put(
        path, json={"emails": ["AP@contoso.example", "ap@contoso.example"]}, headers={"Idempotency-Key": "n-1"}
    )
    assert (put.status_code, put.json()["emails"]) == (200, ["ap@contoso.example"]), put.text
    glob = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.global_admin.user_id)
    assert glob.put(path, json={"emails": ["ap@contoso.example", "cfo@contoso.example"]}).status_code == 200
    user_admin = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.user_admin.user_id)
    assert user_admin.get(path).json()["emails"] == ["ap@contoso.example", "cfo@contoso.example"]
    refused = user_admin.put(path, json={"emails": []})
    assert (refused.status_code, refused.json()["code"]) == (403, "not_authorized")
    stranger = client_with_key(uow, db_url, org_id=other.org_id, as_user=other.global_admin.user_id)
    for answer in (stranger.get(path), stranger.put(path, json={"emails": []})):
        assert (answer.status_code, answer.json()["code"]) == (404, "unknown_org")
    operator = client_with_key(uow, db_url)
    assert operator.put(path, json={"emails": ["cfo@contoso.example"]}).json()["emails"] == ["cfo@contoso.example"]
    missing = operator.get("/v1/organizations/999/billing-notifications")
    assert (missing.status_code, missing.json()["code"]) == (404, "unknown_org")
    assert _addresses(db_url) == 1
    with db.read_only(db_url) as s:
        actors = s.scalars(
            select(AuditEntry.actor).where(AuditEntry.action.like("billing_notification.%")).order_by(AuditEntry.id)
        ).all()
    assert actors[0] == f"user:{w.billing_admin.user_id}" and actors[-1] == "operator"


def test_r27_api_bad_input_is_422_and_writes_nothing(uow, db_url):
    with uow() as s:
        w = world(s, now=T0, users=0)
    client = client_with_key(uow, db_url, org_id=w.org_id, as_user=w.global_admin.user_id)
    path = f"/v1/organizations/{w.org_id}/billing-notifications"
    client.put(path, json={"emails": ["ap@contoso.example"]})
    before, count = snapshot(db_url), _addresses(db_url)
    for body, code in [
        ({"emails": ["ok@contoso.example", "nope", "a b@contoso.example"]}, "invalid_email"),
        ({"emails": [f"a{n}@contoso.example" for n in range(6)]}, "too_many_notification_emails"),
        ({"emails": "ap@contoso.example"}, None),  # not a list
    ]:
        bad = client.put(path, json=body)
        assert bad.status_code == 422, bad.text
        assert code is None or bad.json()["code"] == code
        assert "\n" not in bad.json()["detail"]
    assert (_addresses(db_url), snapshot(db_url)) == (count, before)


def test_r27_the_page_shows_and_saves_addresses_for_a_billing_admin_with_a_line_per_bad_address(site):
    browser = site.signed_in("billing_admin@contoso.example")
    home = browser.get("/").text
    assert 'href="/billing/notifications"' in home and "Billing notifications" in home
    page = browser.get("/billing/notifications").text
    assert "No extra addresses yet." in page and 'action="/billing/notifications"' in page
    token = csrf(browser, "/billing/notifications")
    saved = browser.post(
        "/billing/notifications", data={"emails": "ap@contoso.example\nCFO@contoso.example", "csrf_token": token}
    )
    assert (saved.status_code, saved.headers["location"]) == (
        303,
        "/billing/notifications?done=billing_notifications_saved",
    )
    shown = browser.get("/billing/notifications?done=billing_notifications_saved").text
    assert "<li>ap@contoso.example</li>" in shown and "<li>cfo@contoso.example</li>" in shown
    assert "The billing notification addresses have been saved." in shown
    before = snapshot(site.url)
    typed = "ap@contoso.example\nnope\n<b>x</b>"
    bad = browser.post("/billing/notifications", data={"emails": typed, "csrf_token": token})
    assert bad.status_code == 422
    errors = re.findall(r'<p class="error" role="alert">(.*?)</p>', bad.text)
    assert errors == [
        "“nope” is not an e-mail address. Enter one such as name@example.com.",
        "“&lt;b&gt;x&lt;/b&gt;” is not an e-mail address. Enter one such as name@example.com.",
    ]
    assert "ap@contoso.example\nnope\n&lt;b&gt;x&lt;/b&gt;</textarea>" in bad.text  # what was typed is kept
    many = "\n".join(f"a{n}@contoso.example" for n in range(6))
    too_many = browser.post("/billing/notifications", data={"emails": many, "csrf_token": token})
    assert "Enter at most 5 billing notification addresses." in too_many.text
    assert snapshot(site.url) == before


def test_r27_the_dutch_page_says_factureringsmeldingen_and_a_user_admin_gets_no_link_and_may_not_save(site):
    dutch = site.signed_in("billing_admin@fabrikam.example")
    page = dutch.get("/billing/notifications", headers={"accept-language": "nl-NL,nl;q=0.9"}).text
    assert "Factureringsmeldingen" in page and "Adressen voor factureringsmeldingen" in page
    user_admin = site.signed_in("user_admin@contoso.example")
    assert 'href="/billing/notifications"' not in user_admin.get("/").text
    assert 'action="/billing/notifications"' not in user_admin.get("/billing/notifications").text
    before = snapshot(site.url)
    refused = user_admin.post(
        "/billing/notifications", data={"emails": "x@contoso.example", "csrf_token": csrf(user_admin)}
    )
    assert refused.status_code == 403
    assert snapshot(site.url) == before
