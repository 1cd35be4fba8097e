"""Signing in to the admin center: passwords, throttling, sessions, CSRF tokens."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from seatwise import db
from seatwise.accounts import service as accounts
from seatwise.accounts import signin_flow
from seatwise.accounts.models import SignInAttempts, WebSession
from seatwise.core.errors import Refused
from seatwise.core.signin import CLIENT, PAIR
from seatwise.events.models import AuditEntry
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
    assert sign_in(site.client(OWNER), ADMIN, PASSWORD).status_code == 303
    throttled = sign_in(stranger, ADMIN, PASSWORD)  # even the right password: it is not checked
    assert (throttled.status_code, throttled.headers["retry-after"]) == (429, "60")
    assert "Too many wrong passwords. Try again in a minute." in throttled.text
    assert auth.COOKIE not in throttled.cookies


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
    assert (
        "Te vaak een onjuist wachtwoord" in sign_in(stranger, ADMIN, PASSWORD, headers={"accept-language": "nl"}).text
    )
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
        outcome = signin_flow.sign_in(
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
            outcome = signin_flow.sign_in(
                site.url, email=ADMIN, password=f"guess {n}", operator=False, client=STRANGER, now=T0
            )
        except Refused as refused:
            return refused.code
        return "wrong" if outcome is None else "signed in"

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(guess, range(12)))
    assert sorted(answers) == ["signin_locked"] * 7 + ["wrong"] * PAIR.free


def test_operators_and_customer_admins_are_counted_in_separate_namespaces(site, uow):
    """The finding: one row per address was shared by customer admins and operators."""
    from seatwise.organizations import service as organizations
    from seatwise.organizations.models import User

    operator = "operator@seatwise.example"
    with uow() as s:  # a customer admin whose address is also the operator's
        user = s.get(User, site.contoso.user_admin.user_id)
        user.email = operator
        organizations.set_password(s, user_id=user.id, password="the admin's own password", now=T0)
    stranger = site.client(STRANGER)
    for _ in range(PAIR.free):
        assert sign_in(stranger, operator, "guess").status_code == 401  # the admin center's form
    assert sign_in(stranger, operator, PASSWORD).status_code == 429
    assert sign_in(stranger, operator, PASSWORD, operator=True).status_code == 303  # the console's: its own count


def test_one_client_spraying_passwords_over_many_addresses_is_throttled(site):
    """The finding: no per-client throttle, so that spraying a password across addresses was free."""
    sprayer = site.client(STRANGER)
    for n in range(CLIENT.free):
        assert sign_in(sprayer, f"person{n}@contoso.example", "Summer2026!").status_code == 401
    throttled = sign_in(sprayer, ADMIN, PASSWORD)
    assert (throttled.status_code, throttled.headers["retry-after"]) == (429, "60")
    assert sign_in(site.client(OWNER), ADMIN, PASSWORD).status_code == 303


def test_attempt_rows_are_purged_a_day_after_their_count_began(site):
    """The finding: every address tried added a row that was never purged."""
    stranger = site.client(STRANGER)
    for n in range(3):
        sign_in(stranger, f"tried{n}@contoso.example", "guess")
    site.clock.at += timedelta(hours=24, minutes=1)
    sign_in(site.client(OWNER), "later@contoso.example", "guess")
    with db.read_only(site.url) as s:
        assert set(s.scalars(select(SignInAttempts.email))) <= {"later@contoso.example", ""}
        assert s.scalar(select(func.count()).select_from(SignInAttempts)) == 3  # its pair, client and address


def test_sign_ins_failures_and_throttling_are_audited_without_the_password(site):
    """The finding: sign-ins, failures and lock-outs were not audited."""
    assert sign_in(site.client(OWNER), ADMIN, PASSWORD).status_code == 303
    stranger = site.client(STRANGER)
    for _ in range(PAIR.free):
        sign_in(stranger, ADMIN, "a wrong guess")
    assert sign_in(stranger, ADMIN, PASSWORD).status_code == 429  # refused tries write nothing more
    sign_in(site.client(OWNER), "nobody@contoso.example", "a wrong guess")
    with db.read_only(site.url) as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action.like("signin.%")).order_by(AuditEntry.id)).all()
        admin_id, org_id = site.contoso.global_admin.user_id, site.contoso.org_id
        assert [(r.action, r.entity, r.entity_id, r.org_id) for r in rows] == [
            ("signin.succeeded", "users", admin_id, org_id),
            *[("signin.failed", "users", admin_id, org_id)] * PAIR.free,
            ("signin.throttled", "users", admin_id, org_id),  # once, when the fifth wrong password starts it
            ("signin.failed", "sign_in_attempts", 0, None),  # an unknown address: the operator's log only
        ]
        assert rows[0].actor == f"user:{admin_id}" and rows[0].after == {"email": ADMIN, "client": OWNER}
        assert rows[1].actor == "anonymous"
        assert rows[1].after == {"email": ADMIN, "client": STRANGER, "realm": "admin", "failures": 1}
        assert rows[PAIR.free + 1].after["scope"] == "pair"
        assert not any("guess" in str(r.after) or PASSWORD in str(r.after) for r in rows)


def test_x_forwarded_for_names_the_client_only_when_the_peer_is_a_trusted_proxy(site, monkeypatch):
    monkeypatch.setenv("SEATWISE_TRUSTED_PROXIES", "10.0.0.0/8")
    behind_proxy = site.client("10.0.0.2")
    for _ in range(PAIR.free):
        sign_in(behind_proxy, ADMIN, "guess", headers={"x-forwarded-for": f"1.1.1.1, {STRANGER}"})
    assert sign_in(behind_proxy, ADMIN, PASSWORD, headers={"x-forwarded-for": STRANGER}).status_code == 429
    assert (
        sign_in(behind_proxy, ADMIN, PASSWORD, headers={"x-forwarded-for": f"{STRANGER}, {OWNER}"}).status_code == 303
    )
    direct = site.client("192.0.2.50")  # not a proxy: what it says it forwards for is not believed
    for n in range(PAIR.free):
        sign_in(direct, ADMIN, "guess", headers={"x-forwarded-for": f"198.18.0.{n}"})
    assert sign_in(direct, ADMIN, PASSWORD, headers={"x-forwarded-for": "198.18.0.99"}).status_code == 429


def test_a_malformed_trusted_proxies_setting_stops_the_app_from_starting(site, monkeypatch):
    from seatwise.app import create_app
    from seatwise.core.errors import SeatwiseError

    monkeypatch.setenv("SEATWISE_TRUSTED_PROXIES", "10.0.0.0/8,proxy.example")
    with pytest.raises(SeatwiseError, match=re.escape("'proxy.example' is not an address or CIDR")) as refused:
        create_app(url=site.url, clock=site.clock)
    assert refused.value.code == "invalid_configuration"


def test_an_idle_session_ends_after_30_minutes_and_each_request_starts_the_idle_time_again(site):
    client = site.signed_in(ADMIN)
    for _ in range(5):  # two hours of a request every 25 minutes
        site.clock.at += timedelta(minutes=25)
        assert client.get("/").status_code == 200
    site.clock.at += accounts.IDLE
    response = client.get("/billing/products")
    assert (response.status_code, response.headers["location"]) == (303, "/signin?next=/billing/products")


def test_the_last_use_of_a_session_is_written_at_most_once_a_minute(site):
    client = site.signed_in(ADMIN)

    def last_seen():
        with db.read_only(site.url) as s:
            return s.scalars(select(WebSession.last_seen_at)).one()

    site.clock.at += timedelta(seconds=59)
    client.get("/")
    assert last_seen() == T0  # not written on every request
    site.clock.at += timedelta(seconds=1)
    client.get("/")
    assert last_seen() == T0 + timedelta(minutes=1)


def test_a_form_post_writes_the_last_use_of_its_session_in_its_own_single_commit(site):
    client = site.signed_in(ADMIN)
    token = csrf(client, f"/billing/subscriptions/{site.sub_id}")
    site.clock.at += timedelta(minutes=5)  # the last use is due to be written
    commits = []
    engine = db.engine_for(site.url)

    def committed(conn):
        commits.append(conn)

    event.listen(engine, "commit", committed)
    try:
        response = client.post(
            f"/billing/subscriptions/{site.sub_id}/recurring-billing", data={"csrf_token": token, "enabled": "on"}
        )
    finally:
        event.remove(engine, "commit", committed)
    assert response.status_code == 303 and len(commits) == 1
    with db.read_only(site.url) as s:
        assert s.scalars(select(WebSession.last_seen_at)).one() == site.clock.at


def test_an_operator_console_session_has_the_same_idle_timeout(site):
    client = site.signed_in("operator@seatwise.example", operator=True)
    site.clock.at += accounts.IDLE - timedelta(seconds=1)
    assert client.get("/operator").status_code == 200
    site.clock.at += accounts.IDLE
    assert client.get("/operator").status_code == 303


def test_a_real_server_reads_no_x_forwarded_for_unless_told_to_trust_the_peer(site, tmp_path):
    """uvicorn's own reading of X-Forwarded-For trusts any peer on 127.0.0.1; `seatwise serve` turns it off, so
    that rotating the header does not give a client fresh counts."""
    import http.cookiejar
    import socket
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.parse
    import urllib.request
    from pathlib import Path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "SEATWISE_TRUSTED_PROXIES"}
    command = [Path(sys.executable).parent / "seatwise", "serve", "--db", site.url, "--now", T0.isoformat()]
    with (tmp_path / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            [*command, "--port", str(port), "--no-worker"],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
        )
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def status(path: str, data: dict | None = None, headers: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data else None
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers=headers or {})
        try:
            with browser.open(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as refused:
            return refused.code, refused.read().decode()

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status("/health")
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        answers = []
        for n in range(PAIR.free + 1):
            token = status("/signin")[1].split('name="form_token" value="')[1].split('"')[0]
            password = PASSWORD if n == PAIR.free else "guess"
            form = {"email": ADMIN, "password": password, "form_token": token}
            answers.append(status("/signin", form, {"x-forwarded-for": f"198.18.0.{n}"})[0])
        assert answers == [401] * PAIR.free + [429]
    finally:
        server.terminate()
        server.wait(10)
