"""Every mapped class, imported once so that metadata and Alembic see them all."""

from seatwise.catalog.models import Product
from seatwise.events.models import AuditEntry
from seatwise.licenses.models import Assignment
from seatwise.organizations.models import Organization, User
from seatwise.payments.models import PaymentMethod
from seatwise.subscriptions.models import Subscription

__all__ = ["AuditEntry", "Assignment", "Organization", "PaymentMethod", "Product", "Subscription", "User"]
