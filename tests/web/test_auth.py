"""Signing in to the admin center: passwords, throttling, sessions, CSRF tokens."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select

from seatwise import db
from seatwise.accounts import service as accounts
from seatwise.accounts.models import SignInAttempts, WebSession
from seatwise.core.errors import Refused
from seatwise.core.signin import PAIR
from seatwise.web import auth
from tests.conftest import T0
from tests.web.conftest import PASSWORD, csrf, sign_in

ADMIN = "global_admin@contoso.example"
STRANGER, OWNER = "203.0.113.5", "198.51.100.20"


def test_an_admin_signs_in_with_the_right_password_and_gets_an_httponly_samesite_cookie(site):
    client = site.client()
    response = sign_in(client, ADMIN, PASSWORD)
    assert (response.status_code, response.headers["location"]) == (303, "/")
    cookie = response.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert client.get("/").status_code == 200


def test_a_wrong_password_is_refused_without_saying_whether_the_address_exists(site):
    client = site.client()
    wrong = sign_in(client, ADMIN, "not the password")
    unknown = sign_in(client, "nobody@contoso.example", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong e-mail address or password." in wrong.text and "Wrong e-mail address or password." in unknown.text
    assert client.get("/").status_code == 303


def test_five_wrong_passwords_from_a_stranger_make_only_that_client_wait_with_a_retry_after(site):
    """The finding: five anonymous wrong passwords locked the admin out for 15 minutes, repeatable forever."""
    stranger = site.client(STRANGER)
    for _ in range(PAIR.free):
        assert sign_in(stranger, ADMIN, "guess").status_code == 401
    throttled = sign_in(stranger, ADMIN, PASSWORD)  # even the right password: it is not checked
    assert (throttled.status_code, throttled.headers["retry-after"]) == (429, "60")
    assert "Too many wrong passwords. Try again in a minute." in throttled.text
    assert auth.COOKIE not in throttled.cookies
    assert sign_in(site.client(OWNER), ADMIN, PASSWORD).status_code == 303


def test_users_who_hold_licences_and_removed_admins_cannot_sign_in(site, uow):
    from seatwise.organizations.models import User

    with uow() as s:
        s.get(User, site.contoso.billing_admin.user_id).removed_at = site.clock.at
    assert sign_in(site.client(), "billing_admin@contoso.example", PASSWORD).status_code == 401
    assert sign_in(site.client(), "u0@contoso.example", PASSWORD).status_code == 401


def test_a_forged_or_expired_cookie_sends_the_browser_to_sign_in(site):
    client = site.signed_in(ADMIN)
    client.cookies.clear()
    client.cookies.set(auth.COOKIE, "forged-value")
    response = client.get("/billing/products")
    assert (response.status_code, response.headers["location"]) == (303, "/signin?next=/billing/products")
    client = site.signed_in(ADMIN)
    site.clock.at += auth.LIFETIME
    later = site.client()
    later.cookies = client.cookies
    assert later.get("/").status_code == 303


def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(site):
    client = site.signed_in(ADMIN)
    copy = site.client()
    copy.cookies = dict(client.cookies)
    assert client.post("/signout", data={"csrf_token": csrf(client)}).status_code == 303
    assert copy.get("/").status_code == 303
    with db.read_only(site.url) as s:
        assert s.scalars(select(WebSession)).all() == []


def test_the_sign_in_form_without_its_token_is_refused(site):
    response = site.client().post("/signin", data={"email": ADMIN, "password": PASSWORD})
    assert response.status_code == 403 and "This form has expired" in response.text


def test_after_signing_in_the_browser_goes_back_to_the_page_it_asked_for_but_never_off_site(site):
    client = site.client()
    token = client.get("/signin").text.split('name="form_token" value="')[1].split('"')[0]
    to_page = client.post(
        "/signin", data={"email": ADMIN, "password": PASSWORD, "form_token": token, "next": "/users?q=ann"}
    )
    assert to_page.headers["location"] == "/users?q=ann"
    for target in ("//evil.example/", "/\\evil.example/", "https://evil.example/"):
        elsewhere = site.client()
        token = elsewhere.get("/signin").text.split('name="form_token" value="')[1].split('"')[0]
        off_site = elsewhere.post(
            "/signin", data={"email": ADMIN, "password": PASSWORD, "form_token": token, "next": target}
        )
        assert off_site.headers["location"] == "/"


def test_an_operator_signs_in_to_the_console_and_an_admin_session_does_not_open_it(site):
    operator = site.signed_in("operator@seatwise.example", operator=True)
    assert operator.get("/operator").status_code == 200
    assert operator.get("/").status_code == 303  # the console's session is not a customer admin's
    admin = site.signed_in(ADMIN)
    response = admin.get("/operator/audit")
    assert (response.status_code, response.headers["location"]) == (303, "/operator/signin?next=/operator/audit")


def test_throttle_windows_are_read_from_the_injected_clock_and_double_with_each_wrong_password(site):
    stranger = site.client(STRANGER)
    for _ in range(PAIR.free):
        sign_in(stranger, ADMIN, "guess")
    site.clock.at += timedelta(seconds=59)
    assert sign_in(stranger, ADMIN, PASSWORD).status_code == 429
    site.clock.at += timedelta(seconds=1)
    assert sign_in(stranger, ADMIN, "guess").status_code == 401  # the sixth: two minutes now
    site.clock.at += timedelta(minutes=1)
    again = sign_in(stranger, ADMIN, PASSWORD)
    assert (again.status_code, again.headers["retry-after"]) == (429, "60")
    assert "Te vaak een onjuist wachtwoord" in sign_in(stranger, ADMIN, PASSWORD, headers={"accept-language": "nl"}).text
    site.clock.at += timedelta(minutes=1)
    assert sign_in(stranger, ADMIN, PASSWORD).status_code == 303


def test_a_new_password_ends_the_sessions_opened_with_the_old_one(site, uow):
    from seatwise.organizations import service as organizations

    client = site.signed_in(ADMIN)
    with uow() as s:
        organizations.set_password(
            s, user_id=site.contoso.global_admin.user_id, password="a brand new password", now=site.clock.at
        )
    assert client.get("/").status_code == 303
    assert sign_in(site.client(), ADMIN, PASSWORD).status_code == 401
    assert sign_in(site.client(), ADMIN, "a brand new password").status_code == 303


def test_a_sign_in_form_token_works_only_in_the_browser_it_was_given_to(site):
    attacker = site.client()
    token = attacker.get("/signin").text.split('name="form_token" value="')[1].split('"')[0]
    victim = site.client()  # has never opened the form: no sign-in cookie of its own
    response = victim.post("/signin", data={"email": ADMIN, "password": PASSWORD, "form_token": token})
    assert response.status_code == 403 and auth.COOKIE not in response.cookies


def test_parallel_wrong_passwords_for_a_new_address_are_each_counted(site):
    def guess(n: int) -> None:
        outcome = accounts.sign_in(
            site.url, email="new@contoso.example", password=f"guess {n}", operator=False, client=STRANGER, now=T0
        )
        assert outcome is None

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(guess, range(4)))
    with db.read_only(site.url) as s:
        assert s.get(SignInAttempts, ("admin", "new@contoso.example", STRANGER)).failures == 4


def test_parallel_guesses_cannot_pass_the_throttle_together(site):
    """Each try is counted before its password is checked, so that a burst gets no more than the free tries."""

    def guess(n: int) -> str:
        try:
            outcome = accounts.sign_in(
                site.url, email=ADMIN, password=f"guess {n}", operator=False, client=STRANGER, now=T0
            )
        except Refused as refused:
            return refused.code
        return "wrong" if outcome is None else "signed in"

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(guess, range(12)))
    assert sorted(answers) == ["signin_locked"] * 7 + ["wrong"] * PAIR.free
