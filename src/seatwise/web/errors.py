"""The admin center's words for every error code, English here and Dutch in the catalogue: a person reads
these, never the internal message of the error."""

from __future__ import annotations

from seatwise.core.errors import ErrorCode
from seatwise.i18n import N_

ERROR_TEXT: dict[ErrorCode, str] = {
    ErrorCode.CSRF_TOKEN_INVALID: N_("This form is not from your current session. Reload the page and try again."),
    ErrorCode.NOT_AUTHORIZED: N_("Your admin role does not allow this."),
    ErrorCode.INVALID_SEATS: N_("Enter a whole number of licences of 1 or more."),
    ErrorCode.SEAT_CAP_EXCEEDED: N_("This product allows no more licences."),
    ErrorCode.BELOW_ASSIGNED: N_("You cannot remove licences that are assigned. Unassign them from users first."),
    ErrorCode.TRIAL_SEATS_FIXED: N_("The licences of a trial are fixed: buy the product to change them."),
    ErrorCode.NO_FREE_LICENSES: N_("All licences of this subscription are assigned. Buy more or unassign one first."),
    ErrorCode.ALREADY_ASSIGNED: N_("This user already has a licence of this subscription."),
    ErrorCode.NO_USERS_SELECTED: N_("Select at least one user."),
    ErrorCode.NOT_ASSIGNED: N_("This user has no licence of this subscription."),
    ErrorCode.NOT_ASSIGNABLE: N_("Licences of this subscription cannot be assigned in its present state."),
    ErrorCode.USER_REMOVED: N_("This user has been removed. Restore them first."),
    ErrorCode.INVALID_EMAIL: N_("Enter an e-mail address such as name@example.com."),
    ErrorCode.DUPLICATE_EMAIL: N_("This e-mail address is already in use."),
    ErrorCode.INVALID_ROLE: N_("Choose one of the roles in the list."),
    ErrorCode.INVALID_VALUE: N_("Enter a value of the expected kind."),
    ErrorCode.RESTORE_WINDOW_PASSED: N_("This user was removed more than 30 days ago and can no longer be restored."),
    ErrorCode.ALREADY_REMOVED: N_("This user has already been removed."),
    ErrorCode.NOT_REMOVED: N_("This user is not removed."),
    ErrorCode.PAYMENT_METHOD_REQUIRED: N_("Add a payment method first."),
    ErrorCode.INVALID_CARD_NUMBER: N_("Enter a valid card number."),
    ErrorCode.INVALID_EXPIRY: N_("Enter the card's expiry as MM/YY."),
    ErrorCode.CARD_EXPIRED: N_("This card has expired."),
    ErrorCode.PAYMENT_IN_PROGRESS: N_("This invoice is being charged to its card. Wait a moment and look again."),
    ErrorCode.CARD_DECLINED: N_("The card was declined. Use another card."),
    ErrorCode.NO_USABLE_CARD: N_("There is no card on file that can be charged. Add a card first."),
    ErrorCode.PAYMENT_METHOD_IN_USE: N_(
        "This is the last payment method a renewing subscription is paid with. Add another one first."
    ),
    ErrorCode.UNKNOWN_PAYMENT_METHOD: N_("There is no such payment method."),
    ErrorCode.CARD_NUMBERS_NOT_ACCEPTED: N_("Card numbers cannot be typed here. Add the card on the payment page."),
    ErrorCode.GATEWAY_UNAVAILABLE: N_(
        "The payment service cannot be reached at the moment. Nothing was charged; try again shortly."
    ),
    ErrorCode.NOT_REACTIVATABLE: N_("This subscription cannot be reactivated."),
    ErrorCode.UNPAID_INVOICE: N_("An invoice of this subscription is unpaid past its due date. Pay it first."),
    ErrorCode.INVALID_REASON: N_("Choose a reason from the list."),
    ErrorCode.INVALID_COMMENT: N_("Your feedback is too long: at most 2,000 characters."),
    ErrorCode.OUTSIDE_CANCELLATION_WINDOW: N_(
        "This can be done only in the first days after the start or renewal. Turn recurring billing off instead."
    ),
    ErrorCode.TRIAL_NOTHING_TO_CANCEL: N_("If you are a trial customer, there is nothing to cancel."),
    ErrorCode.TOO_MANY_ASSIGNED_LICENSES: N_("Too many licences are assigned to cancel online. Remove users first."),
    ErrorCode.NOT_ACTIVE: N_("This cannot be done in the subscription's present state."),
    ErrorCode.DELETED: N_("This subscription has been deleted."),
    ErrorCode.INVALID_NAME: N_("Enter a name of at most 200 characters."),
    ErrorCode.INVALID_LOCALE: N_("Choose English or Nederlands."),
    ErrorCode.INVALID_DATETIME: N_("Enter a date such as 2026-11-26."),
    ErrorCode.AS_OF_IN_FUTURE: N_("A billing run cannot go past the present time."),
    ErrorCode.CANNOT_REMOVE_SELF: N_("You cannot remove yourself. Ask another Global admin."),
    ErrorCode.LAST_GLOBAL_ADMIN: N_(
        "This is the organisation's last Global admin. Make someone else a Global admin first."
    ),
    ErrorCode.CLOCK_BEFORE_LAST_CHANGE: N_(
        "This subscription changed after the server's present time. Try again later."
    ),
    ErrorCode.INVALID_PAYMENT_METHOD: N_("Choose a card or paying by invoice."),
    ErrorCode.USER_OF_ANOTHER_ORG: N_("There is no such user."),
    ErrorCode.INVALID_CONFIGURATION: N_("Seatwise is not configured correctly. Ask your software vendor."),
    ErrorCode.INVALID_COUNTRY: N_("Choose a country from the list."),
    ErrorCode.INVALID_ADDRESS: N_("Enter the street and number, the postcode and the city."),
    ErrorCode.INVALID_COMPANY_ID: N_("Enter the company registration number (at most 30 characters)."),
    ErrorCode.NO_VENDOR_PROFILE: N_("The vendor has not set its legal profile yet. Ask your software vendor."),
    ErrorCode.INVALID_IBAN: N_("Enter a valid IBAN, such as NL91ABNA0417164300."),
    ErrorCode.INVALID_VAT_ID: N_("Enter a valid VAT ID of the organisation's country, such as NL123456789B01."),
    ErrorCode.PRICE_CHANGED: N_("The amount has changed since you saw it. Review it and confirm again."),
    ErrorCode.UNKNOWN_SUBSCRIPTION: N_("There is no such subscription."),
    ErrorCode.UNKNOWN_INVOICE: N_("There is no such invoice."),
    ErrorCode.UNKNOWN_USER: N_("There is no such user."),
    ErrorCode.NOT_FOUND: N_("There is no such page."),
    ErrorCode.BAD_INPUT: N_("This request is not valid."),
    ErrorCode.REFUSED: N_("This cannot be done."),
    ErrorCode.ERROR: N_("Something went wrong on our side. It has been logged; please try again later."),
    ErrorCode.INTERNAL_ERROR: N_("Something went wrong on our side. It has been logged; please try again later."),
    ErrorCode.ALREADY_PAID: N_("This invoice has already been paid."),
    ErrorCode.ALREADY_REVOKED: N_("This API key has already been revoked."),
    ErrorCode.CURRENCY_MISMATCH: N_("This product is sold in another currency than your organisation pays in."),
    ErrorCode.DATABASE_ERROR: N_("The database could not do this. Try again later."),
    ErrorCode.DUPLICATE_SKU: N_("A product with this SKU already exists."),
    ErrorCode.HTTP_ERROR: N_("This request could not be handled."),
    ErrorCode.IDEMPOTENCY_KEY_IN_USE: N_(
        "Another request with this Idempotency-Key was answered meanwhile. Retry to get that answer."
    ),
    ErrorCode.IDEMPOTENCY_KEY_REUSED: N_("This Idempotency-Key was used for another request."),
    ErrorCode.INVALID_AMOUNT: N_("Enter an amount such as 12.50."),
    ErrorCode.INVALID_API_KEY_OWNER: N_("An API key belongs to the operator or to one admin of one organisation."),
    ErrorCode.INVALID_DATABASE_URL: N_("The database address is not valid."),
    ErrorCode.INVALID_IDEMPOTENCY_KEY: N_("Use an Idempotency-Key of 1 to 255 visible characters."),
    ErrorCode.INVALID_NUMBER: N_("Enter a whole number."),
    ErrorCode.INVALID_PASSWORD: N_("Choose a password of 10 to 200 characters."),
    ErrorCode.INVALID_PERIOD: N_("Choose monthly or annual billing."),
    ErrorCode.INVALID_POLICY: N_("Choose the standard or the window cancellation policy."),
    ErrorCode.INVALID_REQUEST: N_("This request is not valid."),
    ErrorCode.INVALID_SKU: N_("Enter a SKU of at most 40 characters."),
    ErrorCode.INVALID_STATE: N_("This cannot be done in the present state."),
    ErrorCode.INVALID_TRIAL_DAYS: N_("Enter a trial length of 0 days or more."),
    ErrorCode.INVALID_URL: N_("Enter a web address that starts with https://."),
    ErrorCode.WEBHOOK_URL_NOT_ALLOWED: N_("Webhooks cannot be sent to this address. Enter a public https:// address."),
    ErrorCode.TOO_MANY_WEBHOOK_ENDPOINTS: N_("An organisation has at most 16 webhook endpoints. Delete one first."),
    ErrorCode.UNKNOWN_WEBHOOK_ENDPOINT: N_("There is no such webhook endpoint."),
    ErrorCode.WEBHOOK_DELIVERY_IN_FLIGHT: N_(
        "This event is being sent to this endpoint right now. Resend it once this attempt has ended."
    ),
    ErrorCode.UNKNOWN_EVENT: N_("There is no such event."),
    ErrorCode.LEDGER_IMBALANCE: N_("The books do not balance. Ask your software vendor."),
    ErrorCode.METHOD_NOT_ALLOWED: N_("This action is not available here."),
    ErrorCode.NO_SCHEMA: N_("Seatwise's database has not been set up yet. Ask your software vendor."),
    ErrorCode.NO_TRIAL: N_("This product has no trial. Buy it instead."),
    ErrorCode.NOT_AN_ADMIN: N_("This user holds licences but is not an admin."),
    ErrorCode.NOT_ISSUED_YET: N_("This invoice has not been issued yet."),
    ErrorCode.SIGNIN_LOCKED: N_("Too many wrong passwords. Try again later."),
    ErrorCode.TRIAL_ALREADY_USED: N_("Your organisation has already had a trial of this product."),
    ErrorCode.UNAUTHENTICATED: N_("Sign in, or send a valid API key."),
    ErrorCode.UNKNOWN_ACTOR: N_("There is no such admin."),
    ErrorCode.UNKNOWN_API_KEY: N_("There is no such API key."),
    ErrorCode.UNKNOWN_CURRENCY: N_("Choose a currency such as EUR."),
    ErrorCode.UNKNOWN_ORG: N_("There is no such organisation."),
    ErrorCode.UNKNOWN_SKU: N_("There is no such product."),
    ErrorCode.USAGE: N_("This command was not used as intended."),
    ErrorCode.DATABASE_UNAVAILABLE: N_(
        "The database cannot be reached at the moment. Nothing was changed; try again shortly."
    ),
    ErrorCode.PRECONDITION_FAILED: N_("This subscription changed since you opened it. Open it again to see it now."),
    ErrorCode.REQUEST_TOO_LARGE: N_("This request is too large: at most 1 MB can be sent."),
}
