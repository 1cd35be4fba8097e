"""Every mapped class, imported once so that metadata and Alembic see them all."""

from seatwise.apikeys.models import ApiKey
from seatwise.billing.models import BillingRun, Charge, Invoice, InvoiceCounter, LedgerEntry
from seatwise.catalog.models import Product
from seatwise.events.models import AuditEntry, Event
from seatwise.idempotency.models import IdempotentRequest
from seatwise.licenses.models import Assignment
from seatwise.organizations.models import Organization, User
from seatwise.payments.models import Payment, PaymentMethod
from seatwise.subscriptions.models import Subscription
from seatwise.web.models import Operator, Setting, SignInAttempts, WebSession
from seatwise.webhooks.models import WebhookDelivery, WebhookEndpoint

__all__ = [
    "ApiKey", "AuditEntry", "Assignment", "BillingRun", "Charge", "Event", "IdempotentRequest", "Invoice",
    "InvoiceCounter", "LedgerEntry", "Operator", "Organization", "Payment", "PaymentMethod", "Product", "Setting",
    "SignInAttempts", "Subscription", "User", "WebhookDelivery", "WebhookEndpoint", "WebSession",
]
