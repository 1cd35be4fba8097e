"""One address in several organisations: the password decides which accounts it opens, and only then
does the admin center ask which organisation; nothing tells a stranger the address exists anywhere."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from seatwise import db
from seatwise.accounts.models import WebSession
from seatwise.core.roles import OPERATOR
from seatwise.organizations import service as organizations
from tests.conftest import T0
from tests.web.conftest import PASSWORD, sign_in

PAT = "pat@consultants.example"
OTHER_PASSWORD = "northwind's own password"


@pytest.fixture
def pat(site, uow) -> dict[str, int]:
    """Pat is a Global admin of Contoso and Fabrikam with one password, and of Northwind with another."""
    ids = {}
    with uow() as s:
        northwind = organizations.add_org(s, name="Northwind", currency="EUR", locale="en", now=T0)
        for name, org_id, password in (
            ("Contoso", site.contoso.org_id, PASSWORD),
            ("Fabrikam", site.fabrikam.org_id, PASSWORD),
            ("Northwind", northwind.id, OTHER_PASSWORD),
        ):
            user = organizations.add_user(
                s, org_id=org_id, email=PAT, name="Pat", role="global_admin", actor=OPERATOR, now=T0
            )
            s.flush()
            organizations.set_password(s, user_id=user.id, password=password, now=T0)
            ids[name] = user.id
    return ids


def _session_user(site) -> list[int | None]:
    with db.read_only(site.url) as s:
        return list(s.scalars(select(WebSession.user_id)))


def _choices(page: str) -> dict[str, tuple[str, str]]:
    """Organisation name -> (choice token, user id) of each form of the choice page."""
    forms = re.findall(
        r'name="choice_token" value="([^"]+)">\s*<input type="hidden" name="user_id" value="(\d+)">.*?'
        r'<button type="submit" class="primary">([^<]+)</button>',
        page,
        re.S,
    )
    return {name: (token, user_id) for token, user_id, name in forms}


def test_a_password_that_opens_two_organisations_asks_which_listing_only_those(site, pat):
    client = site.client()
    asked = sign_in(client, PAT, PASSWORD)
    assert asked.status_code == 200 and "Choose an organisation" in asked.text
    choices = _choices(asked.text)
    assert sorted(choices) == ["Contoso", "Fabrikam"] and "Northwind" not in asked.text
    assert _session_user(site) == []  # no session until one is chosen
    token, user_id = choices["Fabrikam"]
    chosen = client.post("/signin/organization", data={"choice_token": token, "user_id": user_id})
    assert (chosen.status_code, chosen.headers["location"]) == (303, "/")
    assert _session_user(site) == [pat["Fabrikam"]]
    assert "Fabrikam" in client.get("/").text


def test_a_password_that_opens_one_of_the_organisations_signs_straight_in_there(site, pat):
    client = site.client()
    response = sign_in(client, PAT, OTHER_PASSWORD)
    assert response.status_code == 303
    assert _session_user(site) == [pat["Northwind"]]


def test_a_wrong_password_for_an_address_of_several_organisations_answers_as_for_no_address_at_all(site, pat):
    client = site.client()
    shared = sign_in(client, PAT, "not the password")
    unknown = sign_in(client, "nobody@consultants.example", "not the password")
    assert shared.status_code == unknown.status_code == 401
    strip = lambda page: re.sub(r'value="[^"]*"', "", page)  # noqa: E731  (the form token and typed address differ)
    assert strip(shared.text) == strip(unknown.text)
    assert not any(name in shared.text for name in ("Contoso", "Fabrikam", "Northwind"))


def test_the_choice_form_opens_only_an_account_it_names_in_the_browser_it_was_given_to_for_five_minutes(site, pat):
    client = site.client()
    token, contoso = _choices(sign_in(client, PAT, PASSWORD).text)["Contoso"]

    def choose(browser, user_id: str):
        return browser.post("/signin/organization", data={"choice_token": token, "user_id": user_id})

    northwind = str(pat["Northwind"])  # an account the password did not open
    assert choose(client, northwind).status_code == 403
    assert choose(client, "not a number").status_code == 403
    assert choose(site.client(), contoso).status_code == 403  # another browser: no sign-in cookie bound to it
    forged = client.post("/signin/organization", data={"choice_token": token + "x", "user_id": contoso})
    assert forged.status_code == 403 and "This form has expired" in forged.text
    site.clock.at += timedelta(minutes=5, seconds=1)
    assert choose(client, contoso).status_code == 403
    assert _session_user(site) == []


def test_a_choice_is_used_once(site, pat):
    client = site.client()
    token, contoso = _choices(sign_in(client, PAT, PASSWORD).text)["Contoso"]
    assert client.post("/signin/organization", data={"choice_token": token, "user_id": contoso}).status_code == 303
    again = client.post("/signin/organization", data={"choice_token": token, "user_id": contoso})
    assert again.status_code == 403  # signing in replaced the sign-in cookie the token was bound to
    assert _session_user(site) == [pat["Contoso"]]


def test_a_choice_no_longer_opens_an_account_whose_password_changed_since(site, pat):
    client = site.client()
    token, fabrikam = _choices(sign_in(client, PAT, PASSWORD).text)["Fabrikam"]
    with db.unit_of_work(site.url) as s:
        organizations.set_password(s, user_id=int(fabrikam), password="a newer password", now=T0)
    assert client.post("/signin/organization", data={"choice_token": token, "user_id": fabrikam}).status_code == 403
    assert _session_user(site) == []
    assert sign_in(client, PAT, PASSWORD).status_code == 303  # now the password opens Contoso's account only
    assert _session_user(site) == [pat["Contoso"]]


def test_the_choice_page_and_its_answer_are_in_dutch_for_a_dutch_browser(site, pat):
    page = sign_in(site.client(), PAT, PASSWORD, headers={"accept-language": "nl"})
    assert "Kies een organisatie" in page.text
