"""Every mapped class, imported once so that metadata and Alembic see them all."""

from seatwise.accounts.models import Operator, Setting, SignInAttempts, WebSession
from seatwise.apikeys.models import ApiKey
from seatwise.billing.models import Charge, Invoice, InvoiceCounter, LedgerEntry
from seatwise.billing_run.models import BillingRun, BillingSchedule
from seatwise.catalog.models import Product
from seatwise.events.models import AuditEntry, Event
from seatwise.idempotency.models import IdempotentRequest
from seatwise.mail.models import MailMessage
from seatwise.organizations.models import Organization, User
from seatwise.payments.models import Payment, PaymentMethod
from seatwise.subscriptions.models import Assignment, Subscription
from seatwise.tax.models import BillingProfile, VendorProfile, VendorProfileVersion
from seatwise.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "ApiKey",
    "Assignment",
    "AuditEntry",
    "BillingProfile",
    "BillingRun",
    "BillingSchedule",
    "Charge",
    "Event",
    "IdempotentRequest",
    "Invoice",
    "InvoiceCounter",
    "LedgerEntry",
    "MailMessage",
    "Operator",
    "Organization",
    "Payment",
    "PaymentMethod",
    "Product",
    "Setting",
    "SignInAttempts",
    "Subscription",
    "User",
    "VendorProfile",
    "VendorProfileVersion",
    "WebSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
