"""Billing e-mail (R27): who it goes to is in `seatwise.organizations.notifications`; what it says is here."""
