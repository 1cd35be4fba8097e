"""Domain exceptions: a code from one enumeration, an HTTP status and a CLI exit code, rendered by one handler each."""

from __future__ import annotations

import enum
from typing import Any


class ErrorCode(enum.StrEnum):
    """Every error code Seatwise answers with: the API's `code`, the CLI's and the admin center's key for
    its words (each has English and Dutch ones, see `seatwise.web.errors`)."""

    ALREADY_ASSIGNED = "already_assigned"
    ALREADY_PAID = "already_paid"
    ALREADY_REMOVED = "already_removed"
    ALREADY_REVOKED = "already_revoked"
    AS_OF_IN_FUTURE = "as_of_in_future"
    BAD_INPUT = "bad_input"
    BELOW_ASSIGNED = "below_assigned"
    CANNOT_REMOVE_SELF = "cannot_remove_self"
    CARD_DECLINED = "card_declined"
    CARD_EXPIRED = "card_expired"
    CARD_NUMBERS_NOT_ACCEPTED = "card_numbers_not_accepted"
    CLOCK_BEFORE_LAST_CHANGE = "clock_before_last_change"
    CSRF_TOKEN_INVALID = "csrf_token_invalid"
    CURRENCY_MISMATCH = "currency_mismatch"
    DATABASE_ERROR = "database_error"
    DATABASE_UNAVAILABLE = "database_unavailable"
    DELETED = "deleted"
    DUPLICATE_EMAIL = "duplicate_email"
    DUPLICATE_SKU = "duplicate_sku"
    ERROR = "error"
    GATEWAY_UNAVAILABLE = "gateway_unavailable"
    HTTP_ERROR = "http_error"
    IDEMPOTENCY_KEY_IN_USE = "idempotency_key_in_use"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    INTERNAL_ERROR = "internal_error"
    INVALID_ADDRESS = "invalid_address"
    INVALID_AMOUNT = "invalid_amount"
    INVALID_API_KEY_OWNER = "invalid_api_key_owner"
    INVALID_CARD_NUMBER = "invalid_card_number"
    INVALID_COMMENT = "invalid_comment"
    INVALID_COMPANY_ID = "invalid_company_id"
    INVALID_CONFIGURATION = "invalid_configuration"
    INVALID_COUNTRY = "invalid_country"
    INVALID_DATABASE_URL = "invalid_database_url"
    INVALID_DATETIME = "invalid_datetime"
    INVALID_EMAIL = "invalid_email"
    INVALID_EXEMPT_REASON = "invalid_exempt_reason"
    INVALID_EXPIRY = "invalid_expiry"
    INVALID_IBAN = "invalid_iban"
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"
    INVALID_LOCALE = "invalid_locale"
    INVALID_NAME = "invalid_name"
    INVALID_NUMBER = "invalid_number"
    INVALID_PASSWORD = "invalid_password"
    INVALID_PAYMENT_METHOD = "invalid_payment_method"
    INVALID_PERIOD = "invalid_period"
    INVALID_PO_NUMBER = "invalid_po_number"
    INVALID_POLICY = "invalid_policy"
    INVALID_REASON = "invalid_reason"
    INVALID_REQUEST = "invalid_request"
    INVALID_ROLE = "invalid_role"
    INVALID_SEATS = "invalid_seats"
    INVALID_SKU = "invalid_sku"
    INVALID_STATE = "invalid_state"
    INVALID_SUBJECT = "invalid_subject"
    INVALID_TRIAL_DAYS = "invalid_trial_days"
    INVALID_URL = "invalid_url"
    INVALID_VAT_ID = "invalid_vat_id"
    INVALID_VALUE = "invalid_value"
    LAST_GLOBAL_ADMIN = "last_global_admin"
    LEDGER_IMBALANCE = "ledger_imbalance"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NO_BILLING_PROFILE = "no_billing_profile"
    NO_FREE_LICENSES = "no_free_licenses"
    NO_SCHEMA = "no_schema"
    NO_TRIAL = "no_trial"
    NO_USABLE_CARD = "no_usable_card"
    NO_VENDOR_PROFILE = "no_vendor_profile"
    NO_USERS_SELECTED = "no_users_selected"
    NOT_ACTIVE = "not_active"
    NOT_AN_ADMIN = "not_an_admin"
    NOT_ASSIGNABLE = "not_assignable"
    NOT_ASSIGNED = "not_assigned"
    NOT_AUTHORIZED = "not_authorized"
    NOT_FOUND = "not_found"
    NOT_ISSUED_YET = "not_issued_yet"
    NOT_REACTIVATABLE = "not_reactivatable"
    NOT_REMOVED = "not_removed"
    OUTSIDE_CANCELLATION_WINDOW = "outside_cancellation_window"
    PAYMENT_IN_PROGRESS = "payment_in_progress"
    PAYMENT_METHOD_IN_USE = "payment_method_in_use"
    PAYMENT_METHOD_REQUIRED = "payment_method_required"
    PRECONDITION_FAILED = "precondition_failed"
    PRICE_CHANGED = "price_changed"
    REFUSED = "refused"
    REQUEST_TOO_LARGE = "request_too_large"
    RESTORE_WINDOW_PASSED = "restore_window_passed"
    SEAT_CAP_EXCEEDED = "seat_cap_exceeded"
    SIGNIN_LOCKED = "signin_locked"
    TOO_MANY_ASSIGNED_LICENSES = "too_many_assigned_licenses"
    TOO_MANY_INVOICE_EMAILS = "too_many_invoice_emails"
    TOO_MANY_NOTIFICATION_EMAILS = "too_many_notification_emails"
    TOO_MANY_WEBHOOK_ENDPOINTS = "too_many_webhook_endpoints"
    TRIAL_ALREADY_USED = "trial_already_used"
    TRIAL_NOTHING_TO_CANCEL = "trial_nothing_to_cancel"
    TRIAL_SEATS_FIXED = "trial_seats_fixed"
    UNAUTHENTICATED = "unauthenticated"
    UNKNOWN_ACTOR = "unknown_actor"
    UNKNOWN_API_KEY = "unknown_api_key"
    UNKNOWN_CURRENCY = "unknown_currency"
    UNKNOWN_EVENT = "unknown_event"
    UNKNOWN_INVOICE = "unknown_invoice"
    UNKNOWN_MAIL_MESSAGE = "unknown_mail_message"
    UNKNOWN_CREDIT_NOTE = "unknown_credit_note"
    UNKNOWN_ORG = "unknown_org"
    UNKNOWN_PAYMENT_METHOD = "unknown_payment_method"
    UNKNOWN_SKU = "unknown_sku"
    UNKNOWN_SUBSCRIPTION = "unknown_subscription"
    UNKNOWN_USER = "unknown_user"
    UNKNOWN_WEBHOOK_ENDPOINT = "unknown_webhook_endpoint"
    UNPAID_INVOICE = "unpaid_invoice"
    USAGE = "usage"
    USER_OF_ANOTHER_ORG = "user_of_another_org"
    USER_REMOVED = "user_removed"
    WEBHOOK_DELIVERY_IN_FLIGHT = "webhook_delivery_in_flight"
    WEBHOOK_URL_NOT_ALLOWED = "webhook_url_not_allowed"


class SeatwiseError(Exception):
    """Base of every error Seatwise shows to a person or a program."""

    code: ErrorCode = ErrorCode.ERROR
    status = 500
    exit_code = 1

    def __init__(self, message: str, *, code: ErrorCode | None = None, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = ErrorCode(code)  # a code outside the enumeration fails here, where it is raised
        self.detail = detail


class BadInput(SeatwiseError):
    """The request itself is malformed: wrong format, out of range, unknown value."""

    code = ErrorCode.BAD_INPUT
    status = 422
    exit_code = 2


class NotFound(BadInput):
    """An id that names nothing (or nothing the caller may see)."""

    code = ErrorCode.NOT_FOUND
    status = 404


class Refused(SeatwiseError):
    """Well-formed, but a business rule says no; `detail` carries the decision."""

    code = ErrorCode.REFUSED
    status = 409
    exit_code = 3


class TooLarge(BadInput):
    """A request body over the size the server reads."""

    code = ErrorCode.REQUEST_TOO_LARGE
    status = 413


class Forbidden(Refused):
    """The actor's role does not allow the action (R9)."""

    code = ErrorCode.NOT_AUTHORIZED
    status = 403


class Unavailable(SeatwiseError):
    """The database cannot be reached for the moment: nothing was done, and a retry may succeed."""

    code = ErrorCode.DATABASE_UNAVAILABLE
    status = 503


class GatewayDown(SeatwiseError):
    """The card gateway did not answer: nothing is recorded as done, and a retry looks up what happened."""

    code = ErrorCode.GATEWAY_UNAVAILABLE
    status = 503
