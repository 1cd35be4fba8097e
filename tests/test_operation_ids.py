"""Every operation of the HTTP API has an explicit, stable operationId: a verb and a noun in camelCase, as a
client generated from /openapi.json names its methods (`getSubscription`, not FastAPI's generated
`get_subscription_v1_subscriptions__sub_id__get`)."""

from __future__ import annotations

import re
from collections import Counter

from fastapi.routing import APIRoute

from seatwise.app import create_app

APP = create_app(url="sqlite://")
OPERATIONS = {
    (method.upper(), path): operation.get("operationId")
    for path, operations in APP.openapi()["paths"].items()
    for method, operation in operations.items()
}

VERBS = {
    "get",
    "list",
    "create",
    "remove",
    "restore",
    "preview",
    "cancel",
    "set",
    "reactivate",
    "assign",
    "unassign",
    "rotate",
    "resend",
    "pay",
}
# verb, then one or more capitalised words: no underscores, digits or acronyms in capitals
VERB_NOUN = re.compile(r"^(?P<verb>[a-z]+)(?:[A-Z][a-z]+)+$")

# Clients are generated from these names: renaming one breaks them, so a change here is a deliberate one.
EXPECTED = {
    ("GET", "/health"): "getHealth",
    ("GET", "/v1/products"): "listProducts",
    ("GET", "/v1/organizations/{org_id}"): "getOrganization",
    ("GET", "/v1/organizations/{org_id}/users"): "listUsers",
    ("POST", "/v1/organizations/{org_id}/users"): "createUser",
    ("GET", "/v1/organizations/{org_id}/billing-profile"): "getBillingProfile",
    ("PUT", "/v1/organizations/{org_id}/billing-profile"): "setBillingProfile",
    ("GET", "/v1/organizations/{org_id}/billing-notifications"): "getBillingNotifications",
    ("PUT", "/v1/organizations/{org_id}/billing-notifications"): "setBillingNotifications",
    ("DELETE", "/v1/users/{user_id}"): "removeUser",
    ("POST", "/v1/users/{user_id}/restore"): "restoreUser",
    ("GET", "/v1/organizations/{org_id}/subscriptions"): "listOrganizationSubscriptions",
    ("POST", "/v1/organizations/{org_id}/subscriptions"): "createSubscription",
    ("GET", "/v1/subscriptions"): "listSubscriptions",
    ("GET", "/v1/subscriptions/{sub_id}"): "getSubscription",
    ("GET", "/v1/subscriptions/{sub_id}/cancellation"): "previewCancellation",
    ("POST", "/v1/subscriptions/{sub_id}/cancellation"): "cancelSubscription",
    ("PUT", "/v1/subscriptions/{sub_id}/recurring-billing"): "setRecurringBilling",
    ("POST", "/v1/subscriptions/{sub_id}/reactivation"): "reactivateSubscription",
    ("PUT", "/v1/subscriptions/{sub_id}/licenses"): "setLicenses",
    ("POST", "/v1/subscriptions/{sub_id}/assignments"): "assignLicense",
    ("DELETE", "/v1/subscriptions/{sub_id}/assignments/{user_id}"): "unassignLicense",
    ("GET", "/v1/organizations/{org_id}/payment-methods"): "listPaymentMethods",
    ("POST", "/v1/organizations/{org_id}/payment-methods"): "createPaymentMethod",
    ("DELETE", "/v1/organizations/{org_id}/payment-methods/{method_id}"): "removePaymentMethod",
    ("GET", "/v1/organizations/{org_id}/invoices"): "listInvoices",
    ("GET", "/v1/invoices/{invoice_id}"): "getInvoice",
    ("GET", "/v1/invoices/{invoice_id}/ubl"): "getInvoiceUbl",
    ("GET", "/v1/invoices/{invoice_id}/pdf"): "getInvoicePdf",
    ("POST", "/v1/invoices/{invoice_id}/pay"): "payInvoice",
    ("GET", "/v1/organizations/{org_id}/credit-notes"): "listCreditNotes",
    ("GET", "/v1/credit-notes/{credit_note_id}"): "getCreditNote",
    ("GET", "/v1/credit-notes/{credit_note_id}/ubl"): "getCreditNoteUbl",
    ("GET", "/v1/credit-notes/{credit_note_id}/pdf"): "getCreditNotePdf",
    ("POST", "/v1/billing-runs"): "createBillingRun",
    ("GET", "/v1/events"): "listEvents",
    ("GET", "/v1/webhook-endpoints"): "listWebhookEndpoints",
    ("POST", "/v1/webhook-endpoints"): "createWebhookEndpoint",
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): "getWebhookEndpoint",
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): "removeWebhookEndpoint",
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/attempts"): "listWebhookAttempts",
    ("PUT", "/v1/webhook-endpoints/{endpoint_id}/enabled"): "setWebhookEndpointEnabled",
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/secret-rotation"): "rotateWebhookSecret",
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/resends"): "resendWebhookEvent",
}


def test_every_route_in_the_schema_names_its_operation_itself():
    """An id FastAPI makes up from the function, path and method changes whenever one of them does."""
    unnamed = sorted(
        f"{sorted(route.methods)} {route.path}"
        for route in APP.routes
        if isinstance(route, APIRoute) and route.include_in_schema and route.operation_id is None
    )
    assert unnamed == []


def test_every_operation_id_is_a_verb_and_a_noun_in_camel_case():
    def wrong(operation_id: str | None) -> bool:
        found = VERB_NOUN.match(operation_id or "")
        return found is None or found["verb"] not in VERBS

    assert sorted(f"{method} {path}: {op}" for (method, path), op in OPERATIONS.items() if wrong(op)) == []


def test_the_check_rejects_the_ids_fastapi_generates():
    assert not VERB_NOUN.match("get_subscription_v1_subscriptions__sub_id__get")
    assert not VERB_NOUN.match("getsubscription") and not VERB_NOUN.match("GetSubscription")
    assert not VERB_NOUN.match("getAPIKey") and VERB_NOUN.match("getApiKey")


def test_no_two_operations_share_an_id():
    assert [op for op, n in Counter(OPERATIONS.values()).items() if n > 1] == []


def test_operation_ids_are_stable():
    assert OPERATIONS == EXPECTED
