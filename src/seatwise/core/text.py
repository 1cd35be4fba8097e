"""Checks of free text typed by people: present, short enough to store, and plain: no control characters
and no overrides of the text direction, which would make a name read as something it is not."""

from __future__ import annotations

import re

from seatwise.core.errors import BadInput, ErrorCode

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# C0 and C1 controls (NUL, BEL, ESC, …), the bidi embeddings, overrides and isolates, the line and paragraph
# separators, and the zero-width marks that flip a name's reading order.
_NOT_PLAIN = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _check_plain(text: str, *, field: str, code: ErrorCode) -> None:
    found = _NOT_PLAIN.search(text)
    if found:
        raise BadInput(
            f"invalid {field}: character U+{ord(found.group()):04X} at position {found.start() + 1} is a control or"
            " text-direction character: expected plain text",
            code=code,
        )


def required_text(value: str | None, *, field: str, max_length: int, code: ErrorCode | None = None) -> str:
    """`value` stripped; BadInput (`invalid_<field>` unless `code` says) when it is empty or longer than
    `max_length` characters."""
    code = code or ErrorCode(f"invalid_{field}")
    text = (value or "").strip()
    _check_plain(text, field=field, code=code)
    if not text:
        raise BadInput(f"missing {field}: expected 1 to {max_length} characters", code=code)
    if len(text) > max_length:
        raise BadInput(f"{field} too long ({len(text)} characters): expected at most {max_length}", code=code)
    return text


def email_address(value: str | None) -> str:
    """An e-mail address as stored (trimmed, lower case); BadInput when it is not one."""
    email = (value or "").strip().lower()
    _check_plain(email, field="e-mail", code=ErrorCode.INVALID_EMAIL)
    if not _EMAIL.match(email) or len(email) > 254:
        raise BadInput(f"invalid e-mail {email!r}: expected name@example.com", code=ErrorCode.INVALID_EMAIL)
    return email
