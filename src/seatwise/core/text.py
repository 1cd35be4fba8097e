"""Checks of free text typed by people: present, and short enough to store."""

from __future__ import annotations

import re

from seatwise.core.errors import BadInput, ErrorCode

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def required_text(value: str | None, *, field: str, max_length: int) -> str:
    """`value` stripped; BadInput when it is empty or longer than `max_length` characters."""
    text = (value or "").strip()
    if not text:
        raise BadInput(f"missing {field}: expected 1 to {max_length} characters", code=ErrorCode(f"invalid_{field}"))
    if len(text) > max_length:
        raise BadInput(
            f"{field} too long ({len(text)} characters): expected at most {max_length}",
            code=ErrorCode(f"invalid_{field}"),
        )
    return text


def email_address(value: str | None) -> str:
    """An e-mail address as stored (trimmed, lower case); BadInput when it is not one."""
    email = (value or "").strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise BadInput(f"invalid e-mail {email!r}: expected name@example.com", code=ErrorCode.INVALID_EMAIL)
    return email
