"""Operators, admin center sessions and sign-in."""
