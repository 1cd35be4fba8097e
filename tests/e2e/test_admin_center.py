"""The admin center in a real browser, in English and in Dutch: the seed's cancellation rules end to end."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import expect

from seatwise.clock import parse_instant
from seatwise.core.money import Money
from seatwise.demo import PASSWORD
from seatwise.i18n import format_day, format_money, gettext
from tests.e2e.conftest import NOW, shoot


def t(lang: str, msgid: str, **params) -> str:
    return gettext(lang, msgid, **params)


def sign_in(page, base: str, email: str, *, operator: bool = False) -> None:
    page.goto(f"{base}/operator/signin" if operator else f"{base}/")
    page.get_by_label(re.compile("e-mail", re.I)).fill(email)
    page.get_by_label(re.compile("Password|Wachtwoord")).fill(PASSWORD)
    page.locator("button[type=submit]").click()


def open_product(page, lang: str, name: str) -> None:
    page.get_by_role("link", name=f"{t(lang, 'Billing')} › {t(lang, 'Your products')}").click()
    page.get_by_role("link", name=name, exact=True).click()


def test_r7_a_trial_has_nothing_to_cancel(server, page, lang):
    sign_in(page, server, "admin@contoso.example")
    shoot(page, "home", lang)
    page.get_by_role("link", name=f"{t(lang, 'Billing')} › {t(lang, 'Your products')}").click()
    shoot(page, "your-products", lang)
    page.get_by_role("link", name="Seatwise Business (commitment)", exact=True).click()
    page.get_by_role("link", name=t(lang, "Cancel subscription")).click()
    expect(page.locator(".decision")).to_have_attribute("data-code", "trial_nothing_to_cancel")
    expect(page.locator(".decision")).to_contain_text(
        t(lang, "If you are a trial customer, there is nothing to cancel.")
    )
    expect(page.locator(".decision")).to_contain_text(
        t(lang, "Trial subscriptions expire automatically unless you provide a payment method.")
    )
    shoot(page, "cancel-trial", lang)
    # The remedy: with a card on file the trial would convert; turning recurring billing off lets it expire.
    page.get_by_role("button", name=t(lang, "Turn recurring billing off")).click()
    expect(page.locator(".notice")).to_have_text(t(lang, "Recurring billing is off."))
    expect(page.locator(".facts")).to_contain_text(t(lang, "Off"))


def test_r8_thirty_assigned_licences_must_come_below_twenty_five_first(server, page, lang):
    sign_in(page, server, "admin@contoso.example")
    open_product(page, lang, "Seatwise Business")
    shoot(page, "subscription", lang)
    page.get_by_role("link", name=t(lang, "Cancel subscription")).click()
    decision = page.locator(".decision")
    expect(decision).to_have_attribute("data-code", "too_many_assigned_licenses")
    expect(decision).to_contain_text(
        t(
            lang,
            "You have {assigned} assigned licenses. Remove users until you have "
            "fewer than {threshold}: unassign {count} more.",
            assigned=30,
            threshold=25,
            count=6,
        )
    )
    shoot(page, "cancel-too-many", lang)
    page.get_by_role("link", name=t(lang, "Go to the users with a licence")).click()
    expect(page.locator(".filter")).to_contain_text("30")
    shoot(page, "users", lang)
    for _ in range(6):
        unassign = t(lang, "Unassign {product} from {user}", product="Seatwise Business", user=".*")
        page.get_by_role("button", name=re.compile(unassign)).first.click()
        expect(page.locator(".notice")).to_have_text(t(lang, "The licence has been unassigned."))
    expect(page.locator(".filter")).to_contain_text("24")
    page.get_by_role("link", name=t(lang, "Back to Cancel subscription")).click()
    expect(page.locator(".decision")).to_have_attribute("data-code", "allowed")


def test_r8_cancel_with_ten_assigned_and_see_the_credit(server, page, lang):
    sign_in(page, server, "admin@contoso.example")
    open_product(page, lang, "Seatwise Enterprise")
    page.get_by_role("link", name=t(lang, "Cancel subscription")).click()
    decision = page.locator(".decision")
    expect(decision).to_have_attribute("data-code", "allowed")
    # Bought two days before NOW for a year of 365 days at €396.00 × 10: cancelled on day 3, 362 days come back (R15).
    now = parse_instant(NOW)
    start, end = date(2026, 11, 24), date(2027, 11, 24)
    unused, days = (end - start).days - ((now.date() - start).days + 1), (end - start).days
    credit = Money((39600 * 10 * unused * 2 + days) // (2 * days), "EUR")
    with_vat = credit + Money((credit.amount * 21 * 2 + 100) // 200, "EUR")  # the demo's Dutch vendor: 21 % (R24)
    back_by = format_day(parse_instant("2026-12-26"), lang)  # a month after the cancellation, not a year (R16)
    expect(decision).to_contain_text(format_money(credit, lang))
    expect(decision).to_contain_text(format_money(with_vat, lang))
    expect(decision).to_contain_text(back_by)
    shoot(page, "cancel-allowed", lang)
    page.get_by_label(t(lang, "Why are you cancelling?")).select_option("too_expensive")
    page.get_by_label(t(lang, "Feedback (optional)")).fill("Moving teams to another plan")
    page.get_by_role("button", name=t(lang, "Cancel subscription")).click()
    expect(page.locator(".notice")).to_have_text(t(lang, "Your subscription has been cancelled."))
    expect(page.locator("h1 .status")).to_have_text(t(lang, "disabled"))
    expect(page.locator(".credit")).to_contain_text(
        t(
            lang,
            "A credit of {amount} comes back by {date}.",
            amount=format_money(with_vat, lang),
            date=back_by,
        )
    )
    shoot(page, "canceled", lang)


def test_r9_a_billing_admin_of_another_organisation_cannot_reach_it_by_url(server, page, lang):
    sign_in(page, server, "facturen@fabrikam.example")
    expect(page.locator("h1")).to_have_text("Fabrikam BV")
    for path in (
        "/billing/subscriptions/2",
        "/billing/subscriptions/2/cancel",
        "/billing/subscriptions/2/licenses?total=5",
    ):
        response = page.goto(server + path)
        assert response.status == 404
        expect(page.locator(".error")).to_have_text(t(lang, "There is no such subscription."))
    assert "Seatwise Enterprise" not in page.content()


def test_a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(server, page, lang):
    sign_in(page, server, "admin@contoso.example")
    page.goto(f"{server}/billing/subscriptions/1")
    form = page.locator("form[action$='/recurring-billing']")
    form.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    form.get_by_role("button").click()
    expect(page.locator(".error")).to_have_attribute("data-code", "csrf_token_invalid")
    expect(page.locator(".error")).to_have_text(
        t(lang, "This form is not from your current session. Reload the page and try again.")
    )
    page.goto(f"{server}/billing/subscriptions/1")
    expect(page.locator(".facts dd").first).to_have_text(t(lang, "On"))


def test_r12_buying_licences_shows_the_prorated_charge_before_confirming(server, page, lang):
    sign_in(page, server, "billing@contoso.example")
    open_product(page, lang, "Seatwise Business")
    page.get_by_label(t(lang, "Total number of licences")).fill("45")
    page.get_by_role("button", name=t(lang, "Buy or remove licences")).click()
    # Monthly at €12.50 from 12 Oct (45 days before NOW): the period 12 Nov – 12 Dec has 30 days, and 26 Nov is
    # day 15, so 5 seats pay for 16 days (R15).
    charge = Money((1250 * 5 * 16 * 2 + 30) // (2 * 30), "EUR")
    expect(page.locator("main")).to_contain_text(format_money(charge, lang))
    shoot(page, "buy-licences", lang)
    page.get_by_role("button", name=t(lang, "Confirm")).click()
    expect(page.locator(".notice")).to_have_text(t(lang, "The number of licences has been changed."))
    expect(page.locator("#licences + p")).to_have_text(t(lang, "{assigned} of {seats} assigned", assigned=30, seats=45))


def test_r9_a_user_admin_sees_no_billing_actions_and_the_server_refuses_them(server, page, lang):
    sign_in(page, server, "people@contoso.example")
    page.goto(f"{server}/billing/subscriptions/2")
    only = t(lang, "Only a Global admin or a Billing admin can change this subscription.")
    expect(page.get_by_text(only)).to_be_visible()
    assert page.get_by_role("link", name=t(lang, "Cancel subscription")).count() == 0
    # Posting the cancellation anyway, with a valid CSRF token of this session, is refused by the server.
    token = page.locator("input[name=csrf_token]").first.input_value()
    response = page.request.post(f"{server}/billing/subscriptions/2/cancel", form={"csrf_token": token})
    assert response.status == 403 and t(lang, "Your admin role does not allow this.") in response.text()
    page.goto(f"{server}/billing/subscriptions/2")
    expect(page.locator("h1 .status")).to_have_text(t(lang, "active"))
    # A User admin manages users: the users page offers assign and remove.
    page.goto(f"{server}/users")
    expect(page.get_by_role("button", name=t(lang, "Assign to the selected users"))).to_be_visible()


def test_bills_and_payments_list_invoices_with_lines_and_a_pdf(server, page, lang):
    sign_in(page, server, "admin@contoso.example")
    page.get_by_role("link", name=t(lang, "Bills & payments")).click()
    shoot(page, "bills", lang)
    page.locator("table.grid a[href^='/billing/invoices/']").first.click()
    expect(page.locator("h1")).to_contain_text(re.compile(r"SW-\d{4}-\d{6}"))
    assert page.locator("tbody tr").count() >= 1
    shoot(page, "invoice", lang)
    pdf = page.request.get(page.url + "/pdf")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.body()[:5] == b"%PDF-"


def test_r21_pay_now_shows_a_declined_card_with_its_reason_and_then_pays_with_another(server, page, lang):
    sign_in(page, server, "facturen@fabrikam.example")  # Fabrikam pays by transfer: its invoices are open
    page.goto(f"{server}/billing/invoices")
    page.locator("tr:has(.status.open) a[href^='/billing/invoices/']").first.click()
    invoice_url = page.url

    def pay_with_new_card(number: str) -> None:
        page.get_by_label(t(lang, "A new card")).check()
        page.get_by_label(t(lang, "Card number")).fill(number)
        page.get_by_label(t(lang, "Expiry (MM/YY)")).fill("12/30")
        page.get_by_role("button", name=t(lang, "Pay now")).click()

    pay_with_new_card("4000 0000 0000 0341")
    expect(page.locator(".notice")).to_have_text(
        t(lang, "The card was declined. The attempt and its reason are shown below.")
    )
    declined = page.locator("section[aria-labelledby=attempts-title] tbody tr")
    expect(declined).to_have_count(1)
    expect(declined.first).to_contain_text(t(lang, "decline:declined"))
    shoot(page, "invoice-declined", lang)
    pay_with_new_card("4242 4242 4242 4242")
    expect(page.locator(".notice")).to_have_text(t(lang, "The invoice has been paid."))
    expect(page.locator("h1 .status")).to_have_text(t(lang, "invoice:paid"))
    expect(page.locator("section[aria-labelledby=attempts-title] tbody tr")).to_have_count(2)
    assert page.get_by_role("button", name=t(lang, "Pay now")).count() == 0
    assert page.url.startswith(invoice_url)


def test_signing_in_with_a_wrong_password_says_so_and_signing_out_ends_the_session(server, page, lang):
    page.goto(f"{server}/billing/products")
    expect(page).to_have_url(re.compile("/signin"))
    page.get_by_label(re.compile("e-mail", re.I)).fill("admin@contoso.example")
    page.get_by_label(re.compile("Password|Wachtwoord")).fill("not the password")
    page.locator("button[type=submit]").click()
    expect(page.locator(".error")).to_have_text(t(lang, "Wrong e-mail address or password."))
    shoot(page, "signin", lang)
    page.get_by_label(re.compile("Password|Wachtwoord")).fill(PASSWORD)
    page.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile("/billing/products$"))  # back where the admin wanted to go
    page.get_by_role("button", name=t(lang, "Sign out")).click()
    page.goto(f"{server}/billing/products")
    expect(page).to_have_url(re.compile("/signin"))


def test_the_operator_starts_a_billing_run_and_watches_it_finish(server, page, lang):
    sign_in(page, server, "operator@seatwise.example", operator=True)
    expect(page.locator("figure svg")).to_have_count(1)
    expect(page.locator("main table")).to_contain_text("Contoso Ltd")
    shoot(page, "operator-customers", lang)
    page.get_by_role("link", name=t(lang, "Products")).click()
    expect(page.locator("main table")).to_contain_text("SW-BUSINESS")
    shoot(page, "operator-products", lang)
    page.get_by_role("link", name=t(lang, "Billing runs")).click()
    page.get_by_role("button", name=t(lang, "Start a billing run")).click()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "done")
    shoot(page, "operator-billing-run", lang)
    page.get_by_role("link", name=t(lang, "Audit log")).click()
    expect(page.locator("main table")).to_contain_text("subscription.")
    shoot(page, "operator-audit", lang)
    # A customer admin's session is not an operator's: the console sends them to its own sign-in.
    page.context.clear_cookies()
    sign_in(page, server, "admin@contoso.example")
    page.goto(f"{server}/operator")
    expect(page).to_have_url(re.compile("/operator/signin"))


def test_without_javascript_an_admin_still_cancels_online(server, browser, lang):
    context = browser.new_context(java_script_enabled=False, locale={"en": "en-GB", "nl": "nl-NL"}[lang])
    page = context.new_page()
    try:
        sign_in(page, server, "billing@contoso.example")
        open_product(page, lang, "Seatwise Enterprise")
        page.get_by_role("link", name=t(lang, "Cancel subscription")).click()
        page.get_by_label(t(lang, "Why are you cancelling?")).select_option("no_longer_needed")
        page.get_by_role("button", name=t(lang, "Cancel subscription")).click()
        expect(page.locator(".notice")).to_have_text(t(lang, "Your subscription has been cancelled."))
    finally:
        context.close()


def test_the_cancel_flow_works_from_the_keyboard(server, page, lang):
    sign_in(page, server, "admin@contoso.example")
    page.goto(f"{server}/billing/subscriptions/2")
    target = t(lang, "Cancel subscription")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == target:
            break
    else:
        raise AssertionError(f"{target!r} cannot be reached with Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".decision")).to_have_attribute("data-code", "allowed")


UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
  .map(e => e.outerHTML)"""


def test_every_form_field_of_every_page_has_a_label(server, page, lang):
    page.goto(f"{server}/signin")
    assert page.evaluate(UNLABELLED) == []
    sign_in(page, server, "admin@contoso.example")
    for path in (
        "/",
        "/billing/products",
        "/billing/subscriptions/1",
        "/billing/subscriptions/2/cancel",
        "/billing/subscriptions/1/licenses?total=41",
        "/users",
        "/users?removed=true",
        "/billing/invoices",
    ):
        page.goto(server + path)
        assert page.evaluate(UNLABELLED) == [], path


def test_pages_run_under_their_content_security_policy_without_a_single_violation(server, page, lang):
    refused: list[str] = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    sign_in(page, server, "admin@contoso.example")
    open_product(page, lang, "Seatwise Business")
    page.get_by_role("link", name=t(lang, "Cancel subscription")).click()
    page.goto(f"{server}/billing/invoices")
    page.go_back()  # htmx and the stylesheet were loaded and ran on every page above
    assert page.evaluate("typeof htmx") == "object"
    assert refused == []
