"""Signing in to the admin center: passwords, lock-out, sessions, CSRF tokens."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from seatwise import db
from seatwise.accounts.models import WebSession
from seatwise.clock import FixedClock
from seatwise.core.signin import LOCKOUT, MAX_FAILURES
from seatwise.web import auth
from tests.web.conftest import PASSWORD, csrf, sign_in

ADMIN = "global_admin@contoso.example"


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


def test_five_wrong_passwords_lock_the_address_for_fifteen_minutes(site):
    client = site.client()
    for _ in range(MAX_FAILURES):
        assert sign_in(client, ADMIN, "guess").status_code == 401
    locked = sign_in(client, ADMIN, PASSWORD)
    assert locked.status_code == 429 and "Too many wrong passwords" in locked.text
    site.clock = FixedClock(site.clock.at + LOCKOUT)
    assert sign_in(site.client(), ADMIN, PASSWORD).status_code == 303


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


def test_lock_out_windows_are_read_from_the_injected_clock(site):
    client = site.client()
    for _ in range(MAX_FAILURES):
        sign_in(client, ADMIN, "guess")
    site.clock = FixedClock(site.clock.at + LOCKOUT - timedelta(seconds=1))
    assert sign_in(site.client(), ADMIN, PASSWORD).status_code == 429


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
    from concurrent.futures import ThreadPoolExecutor

    from seatwise.accounts.models import SignInAttempts

    def guess(n: int) -> None:
        with db.unit_of_work(site.url) as s:
            assert (
                auth.sign_in(s, email="new@contoso.example", password=f"guess {n}", operator=False, now=site.clock.at)
                is None
            )

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(guess, range(4)))
    with db.read_only(site.url) as s:
        assert s.get(SignInAttempts, "new@contoso.example").failures == 4
