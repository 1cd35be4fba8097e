"""Every mapped class, imported once so that metadata and Alembic see them all."""

from seatwise.billing.models import Charge, Invoice, InvoiceCounter, LedgerEntry
from seatwise.catalog.models import Product
from seatwise.events.models import AuditEntry
from seatwise.licenses.models import Assignment
from seatwise.organizations.models import Organization, User
from seatwise.payments.models import Payment, PaymentMethod
from seatwise.subscriptions.models import Subscription

__all__ = [
    "AuditEntry", "Assignment", "Charge", "Invoice", "InvoiceCounter", "LedgerEntry", "Organization", "Payment",
    "PaymentMethod", "Product", "Subscription", "User",
]
