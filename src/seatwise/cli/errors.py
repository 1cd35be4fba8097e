"""How the CLI tells an error: one `error: ...` line on stderr (and the error as JSON with --json).

Services speak of subscriptions and invoices, not of commands and flags; the hints that name
`seatwise` commands and options are added here, by error code.
"""

from __future__ import annotations

import json

from pydantic_core import to_jsonable_python
from sqlalchemy.exc import OperationalError, ProgrammingError

from seatwise.cli.output import err, out
from seatwise.core.errors import BadInput, SeatwiseError
from seatwise.subscriptions.schemas import DecisionOut

try:  # Typer vendors Click since 0.2x; older releases use Click itself
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import UsageError  # type: ignore[no-redef, assignment]

# Keyed by the error's code (a str, or a StrEnum member, which hashes and compares as its value).
HINTS: dict[str, str] = {
    "unknown_subscription": "list them with `seatwise subscription list`",
    "unknown_invoice": "list them with `seatwise invoice list --org ID`",
    "unknown_org": "list them with `seatwise org list`",
    "unknown_user": "list them with `seatwise user list --org ID`",
    "unknown_api_key": "list them with `seatwise apikey list`",
    "unknown_sku": "list them with `seatwise product list`",
    "unknown_actor": "--as takes `operator`, or the id or e-mail of an active user",
    "clock_before_last_change": "give a later --now",
    "unpaid_invoice": "record its payment with `seatwise invoice pay ID`",
    "invalid_api_key_owner": "give either --operator, or --org ID --as USER",
    "invalid_payment_method": "give either --card NUMBER --exp MM/YY, or --invoice",
    "invalid_expiry": "give the card's expiry as --exp MM/YY",
}


def with_hint(exc: SeatwiseError) -> str:
    """The error's message, and the CLI's hint for its code unless the message already names a command or flag."""
    hint = HINTS.get(exc.code)
    if hint is None or "`seatwise " in exc.message or "--" in exc.message:
        return exc.message
    return f"{exc.message}; {hint}"


def fail(exc: SeatwiseError, *, as_json: bool) -> None:
    """Tell an error: a refusal's decision on stdout, the error as JSON with --json, one line on stderr."""
    detail = exc.detail
    message = with_hint(exc)
    if isinstance(detail, DecisionOut):
        if as_json:
            print(detail.model_dump_json())
        else:
            out.print(detail.message, highlight=False, markup=False)
    elif as_json:
        print(json.dumps({"error": {"code": exc.code, "message": message, "detail": to_jsonable_python(detail)}},
                         ensure_ascii=False))
    err.print(f"error: {message}", highlight=False, markup=False)


def usage_error(exc: UsageError) -> BadInput:
    """A usage error Typer found (a missing option, `abc` for a number) as bad input like any other."""
    context = getattr(exc, "ctx", None)
    hint = f" (see `{context.command_path} --help`)" if context is not None else ""
    return BadInput(" ".join(exc.format_message().split()).rstrip(".") + hint, code="usage")


def database_error(exc: Exception, *, bad_input: bool = False) -> SeatwiseError:
    """A database error as one line: a value it cannot store, a missing schema, or anything else."""
    text = (str(getattr(exc, "orig", exc)).splitlines() or [exc.__class__.__name__])[0]
    if bad_input:
        return BadInput(f"invalid value: {text}", code="invalid_value")
    if isinstance(exc, (OperationalError, ProgrammingError)) and (
            "no such table" in text or "does not exist" in text and "relation" in text):
        return SeatwiseError("the database has no Seatwise schema yet: run `seatwise db upgrade`", code="no_schema")
    return SeatwiseError(f"database error: {text}", code="database_error")
