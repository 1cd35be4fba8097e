"""Every refusal the admin center can meet is told in the reader's words, not as an internal message."""

from __future__ import annotations

import re
from pathlib import Path

import seatwise
from seatwise.core.cancellation import Code
from seatwise.web.pages import ERROR_TEXT

# Codes no page or form of the admin center can meet, and why.
NOT_FROM_THE_WEB = {
    "allowed": "not an error",
    "signin_locked": "the sign-in page says it in its own words",
    "unknown_org": "pages act in the signed-in admin's own organisation",
    **dict.fromkeys(("duplicate_sku", "invalid_amount", "invalid_period", "invalid_policy", "invalid_trial_days",
                     "unknown_sku", "unknown_currency"), "the catalogue is the operator's CLI"),
    **dict.fromkeys(("currency_mismatch", "no_trial", "trial_already_used"), "trials and purchases start elsewhere"),
    **dict.fromkeys(("invalid_api_key_owner", "unknown_api_key", "already_revoked"), "API keys are made in the CLI"),
    "unauthenticated": "the JSON API's own answer; pages send the browser to sign in",
    **dict.fromkeys(("idempotency_key_reused", "idempotency_key_in_use", "invalid_idempotency_key"),
                    "the Idempotency-Key header belongs to the JSON API"),
    "invalid_url": "webhook endpoints are added through the JSON API",
    **dict.fromkeys(("unknown_actor", "not_an_admin", "invalid_database_url", "invalid_password", "already_paid",
                     "not_issued_yet"), "CLI commands only"),
}


def _codes() -> set[str]:
    source = Path(seatwise.__file__).parent
    skipped = {"cli", "migrations"}  # the CLI's own codes (usage, no_schema, ...) never reach a page
    found = {code for path in source.rglob("*.py") if not skipped & set(path.relative_to(source).parts)
             for code in re.findall(r'code ?= ?"([a-z_]+)"', path.read_text())}
    return found | {code.value for code in Code}


def test_every_error_code_a_page_or_form_can_meet_has_words_for_people():
    missing = sorted(code for code in _codes() if code not in ERROR_TEXT and code not in NOT_FROM_THE_WEB)
    assert missing == []


def test_the_list_of_unreachable_codes_names_only_codes_that_exist():
    assert set(NOT_FROM_THE_WEB) <= _codes()
