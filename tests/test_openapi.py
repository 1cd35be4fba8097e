"""Schemathesis over the app's whole OpenAPI: no request answers 5xx, and every answer is one the schema documents
(status code, content type, headers, body), errors included as problem details; a request that breaks the schema
is refused, and the API key the schema asks for is enforced.

The schema is loaded once, from the app; each operation runs on a database of its own, seeded with two
organisations, and each request carries the operator's key or a Global admin's of the first organisation. Its
examples, coverage (boundaries and each way to be invalid) and fuzzing phases all run. Two narrower tests follow:
the largest cursor a list's schema allows, and the methods a path does not document.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from dataclasses import dataclass
from datetime import timedelta

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from seatwise.apikeys import service as apikeys
from seatwise.billing import credit_notes
from seatwise.billing import service as billing
from seatwise.clock import FixedClock
from seatwise.core.roles import OPERATOR
from seatwise.licenses import service as licenses
from seatwise.organizations import service as organizations
from seatwise.payments.models import PaymentMethod
from seatwise.subscriptions import service as subscriptions
from seatwise.webhooks import service as webhooks
from tests.conftest import T0
from tests.factories import run_billing, world

START = T0 - timedelta(days=45)  # the organisations' first day
NOW = T0 + timedelta(days=3)  # the app's clock: after the seeded billing run, so that a run up to now has work
# Fuzzed requests per operation and database; the coverage phase adds its own, a fixed set per operation.
EXAMPLES = int(os.environ.get("SEATWISE_OPENAPI_EXAMPLES", "15"))
# Not `positive_data_acceptance`: a body the schema allows may still break a rule the schema cannot say (an
# e-mail address, a card number, a user of another organisation), and that is the documented 422 or 409.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]
CALLERS = ("operator", "global_admin")
# Values of body fields that the app accepts, where the schema allows any string.
KNOWN_VALUES = {
    "sku": ["BIZ", "FAB"],
    "email": ["new@contoso.example", "u0@contoso.example"],
    "role": ["global_admin", "billing_admin", "user_admin", "user"],
    "reason": ["too_expensive", "missing_features", "switching_product", "no_longer_needed", "other"],
    "card": ["4242 4242 4242 4242", "4000 0000 0000 0002"],
    "exp": ["12/30", "01/20"],
    "url": ["https://hooks.example/seatwise"],
    "emails": [["ap@contoso.example"], ["ap@contoso.example", "AP@contoso.example", "cfo@contoso.example"]],
}


@dataclass
class Seeded:
    keys: dict[str, str]  # by caller: the operator's, and a Global admin's of the first organisation
    ids: dict[
        str, list[int]
    ]  # by the name of the id (org_id, sub_id, invoice_id, credit_note_id…): both organisations'


@pytest.fixture
def seeded(uow) -> Seeded:
    """Two organisations, since six weeks, with a paid subscription each, one that expired, and a trial; assigned
    licences, a user removed this week, invoices, a credit note and a webhook endpoint."""
    with uow() as s:
        mine = world(s, now=START, users=5)
        theirs = world(s, now=START, users=3, name="Fabrikam", sku="FAB")
        sub = subscriptions.buy(s, org_id=mine.org_id, sku="BIZ", seats=4, actor=OPERATOR, now=START)
        lapsed = subscriptions.buy(s, org_id=mine.org_id, sku="FAB", seats=2, actor=OPERATOR, now=START)
        other = subscriptions.buy(s, org_id=theirs.org_id, sku="FAB", seats=3, actor=OPERATOR, now=START)
        s.flush()
        subscriptions.set_recurring_billing(s, sub_id=lapsed.id, enabled=False, actor=OPERATOR, now=START)
        trial = subscriptions.start_trial(s, org_id=mine.org_id, sku="FAB", seats=2, actor=OPERATOR, now=T0)
        s.flush()
        for user_id in mine.user_ids[:2]:
            licenses.assign(s, sub_id=sub.id, user_id=user_id, actor=OPERATOR, now=START)
        licenses.assign(s, sub_id=other.id, user_id=theirs.user_ids[0], actor=OPERATOR, now=START)
        organizations.remove_user(s, user_id=mine.user_ids[-1], actor=OPERATOR, now=T0)
        hook = webhooks.add_endpoint(s, org_id=mine.org_id, url="http://127.0.0.1:9/hook", actor=OPERATOR, now=START)
    run_billing(uow, as_of=T0 + timedelta(days=1))
    with uow() as s:  # a licence removed after the invoice: a credit note at once (R25)
        licenses.set_total(s, sub_id=other.id, total=2, actor=OPERATOR, now=T0 + timedelta(days=2))
    with uow() as s:
        invoices = billing.list_invoices(s, org_id=mine.org_id) + billing.list_invoices(s, org_id=theirs.org_id)
        notes = credit_notes.list_credit_notes(s, org_id=theirs.org_id)
        _, operator = apikeys.create(s, operator=True, org_id=None, as_user=None, now=T0)
        _, admin = apikeys.create(s, operator=False, org_id=mine.org_id, as_user=mine.global_admin.user_id, now=T0)
        admins = [a.user_id for w in (mine, theirs) for a in (w.global_admin, w.billing_admin, w.user_admin)]
        ids = {
            "org_id": [mine.org_id, theirs.org_id],
            "sub_id": [sub.id, lapsed.id, trial.id, other.id],
            "user_id": admins + mine.user_ids + theirs.user_ids,
            "invoice_id": [i.id for i in invoices],
            "credit_note_id": [n.id for n in notes],
            "endpoint_id": [hook.id],
            "method_id": list(s.scalars(select(PaymentMethod.id).order_by(PaymentMethod.id))),
        }
        assert s.get(type(lapsed), lapsed.id).status == "expired"
    assert all(ids.values()), ids
    return Seeded(keys={"operator": operator, "global_admin": admin}, ids=ids)


class CurrentApp:
    """The app of the running test, behind the schema loaded once at import, served as a server would: an error
    that the app has answered (500 problem details, its traceback in the log) goes no further."""

    app = None

    async def __call__(self, scope, receive, send):
        answered = False

        async def sending(message):
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            if not answered:
                raise


CURRENT = CurrentApp()


@pytest.fixture
def app(db_url, seeded):
    from seatwise.app import create_app

    CURRENT.app = create_app(url=db_url, clock=FixedClock(NOW))
    yield CURRENT.app
    CURRENT.app = None


def _load_schema():
    """The app's OpenAPI as it serves it (the database it would use changes nothing in it)."""
    from seatwise.app import create_app

    config = SchemathesisConfig.from_dict(
        {
            "generation": {
                "max-examples": EXAMPLES,
                "no-shrink": True,  # a failure shows the request that failed: shrinking costs 10-15 s per failing one
                "allow-extra-parameters": False,  # unknown query parameters are ignored, as HTTP APIs do
                "with-security-parameters": False,  # every request carries a real key instead of a generated one
            },
            # Methods an operation does not document: test_api_undocumented_methods_... below, once per path.
            "phases": {"coverage": {"unexpected-methods": []}},
        }
    )
    schema = schemathesis.openapi.from_dict(create_app(url="sqlite://").openapi(), config=config)
    # Through the schema's app, not only `call`'s: ignored_auth sends its own requests without the key.
    schema.app = CURRENT
    return schema


schema = _load_schema()


def _maybe(value, pool: list):
    """Half the values, chosen by their hash, become one of `pool`: the same value always makes the same choice,
    so that hypothesis replays a failure as it was."""
    digest = zlib.crc32(repr(value).encode())
    return pool[digest // 2 % len(pool)] if digest % 2 == 0 else value


def _towards_the_world(case, ids: dict[str, list[int]]) -> None:
    """Point about half the ids and codes of a fuzzed valid request at the seeded rows and at values the app
    knows: random ones name nothing, and are refused before the route does anything."""
    meta = case.meta
    if meta is None or meta.phase.name.value != "fuzzing" or meta.generation.mode is not GenerationMode.POSITIVE:
        return
    for name, value in case.path_parameters.items():
        case.path_parameters[name] = _maybe(value, ids[name])
    if isinstance(case.body, dict):
        known = {"org_id": ids["org_id"], "user_id": ids["user_id"], **KNOWN_VALUES}
        for name in case.body.keys() & known.keys():
            case.body[name] = _maybe(case.body[name], known[name])


def _caller(case) -> str:
    """The operator or the Global admin, by what the request asks: the same request always has the same key."""
    asked = json.dumps([case.method, case.formatted_path, case.query, case.body], sort_keys=True, default=repr)
    return CALLERS[zlib.crc32(asked.encode()) % len(CALLERS)]


@schema.parametrize()
# The examples of one operation share its database, as requests to a running app would: that is intended.
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_api_openapi_no_server_errors_and_responses_match_schema(case, seeded, app):
    _towards_the_world(case, seeded.ids)
    case.call_and_validate(headers={"Authorization": f"Bearer {seeded.keys[_caller(case)]}"}, checks=CHECKS)


LISTS = sorted(
    path
    for path, operations in schema.raw_schema["paths"].items()
    if any(p["name"] == "cursor" for p in operations.get("get", {}).get("parameters", []))
)


@pytest.mark.parametrize("path", LISTS)
def test_api_list_answers_the_largest_cursor_its_schema_allows_without_a_server_error(path, seeded, app):
    """The cursor is an id; its pattern allows ten digits, more than the 32-bit id columns hold (PostgreSQL)."""
    [cursor] = [p for p in schema.raw_schema["paths"][path]["get"]["parameters"] if p["name"] == "cursor"]
    pattern = next(s["pattern"] for s in [cursor["schema"], *cursor["schema"].get("anyOf", [])] if "pattern" in s)
    largest = max(("9" * n for n in range(1, 40) if re.fullmatch(pattern, "9" * n)), key=len)
    case = schema[path]["GET"].Case(
        query={"cursor": largest},
        path_parameters={name: seeded.ids[name][0] for name in re.findall(r"\{(\w+)\}", path)},
    )
    case.call_and_validate(headers={"Authorization": f"Bearer {seeded.keys['operator']}"}, checks=CHECKS)


def test_api_undocumented_methods_answer_405_with_an_allow_header_of_the_documented_ones(seeded, app):
    """RFC 9110 §15.5.6: a 405 names, in `Allow`, the methods the resource does support."""
    client = TestClient(app, headers={"Authorization": f"Bearer {seeded.keys['operator']}"})
    wrong = []
    for path, operations in schema.raw_schema["paths"].items():
        documented = {method.upper() for method in operations}
        url = re.sub(r"\{[a-z_]+\}", "1", path)
        answers = {
            method: client.request(method, url)
            for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - documented)
        }
        bad = {
            method: f"{r.status_code} {r.headers.get('content-type')}, Allow: {r.headers.get('allow')}"
            for method, r in answers.items()
            if (r.status_code, r.headers.get("content-type"), _methods(r.headers.get("allow")))
            != (405, "application/problem+json", documented)
        }
        if bad:
            wrong.append(
                f"{' '.join(bad)} {url}: {' | '.join(sorted(set(bad.values())))} "
                f"(expected 405 with Allow: {', '.join(sorted(documented))})"
            )
    assert not wrong, "\n".join(wrong)


def _methods(allow: str | None) -> set[str]:
    return {method.strip().upper() for method in (allow or "").split(",") if method.strip()} - {"HEAD"}
