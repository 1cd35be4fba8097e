"""Domain exceptions: a stable code, an HTTP status and a CLI exit code, rendered by one handler each."""

from __future__ import annotations

from typing import Any


class SeatwiseError(Exception):
    """Base of every error Seatwise shows to a person or a program."""

    code = "error"
    status = 500
    exit_code = 1

    def __init__(self, message: str, *, code: str | None = None, detail: Any = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.detail = detail


class BadInput(SeatwiseError):
    """The request itself is malformed: wrong format, out of range, unknown value."""

    code = "bad_input"
    status = 422
    exit_code = 2


class NotFound(BadInput):
    """An id that names nothing (or nothing the caller may see)."""

    code = "not_found"
    status = 404


class Refused(SeatwiseError):
    """Well-formed, but a business rule says no; `detail` carries the decision."""

    code = "refused"
    status = 409
    exit_code = 3


class Forbidden(Refused):
    """The actor's role does not allow the action (R9)."""

    code = "not_authorized"
    status = 403
