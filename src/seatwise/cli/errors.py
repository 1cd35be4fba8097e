"""How the CLI tells an error: one `error: ...` line on stderr (and the error as JSON with --json).

Services speak of subscriptions and invoices, not of commands and flags; the hints that name
`seatwise` commands and options are added here, by error code.
"""

from __future__ import annotations

import json

from pydantic_core import to_jsonable_python
from sqlalchemy.exc import OperationalError, ProgrammingError

from seatwise.cli.output import err, out
from seatwise.core.errors import BadInput, ErrorCode, SeatwiseError
from seatwise.subscriptions.schemas import DecisionOut

try:  # Typer vendors Click since 0.2x; older releases use Click itself
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import UsageError  # type: ignore[no-redef, assignment]

HINTS: dict[ErrorCode, str] = {
    ErrorCode.UNKNOWN_SUBSCRIPTION: "list them with `seatwise subscription list`",
    ErrorCode.UNKNOWN_INVOICE: "list them with `seatwise invoice list --org ID`",
    ErrorCode.UNKNOWN_CREDIT_NOTE: "list them with `seatwise credit-note list ORG`",
    ErrorCode.UNKNOWN_ORG: "list them with `seatwise org list`",
    ErrorCode.NO_VENDOR_PROFILE: "set it with `seatwise vendor set --name ... --country NL`",
    ErrorCode.NO_BILLING_PROFILE: "set it with `seatwise org set-billing ORG --legal-name ... --country NL`",
    ErrorCode.UNKNOWN_PAYMENT_METHOD: "list them with `seatwise payment-method list --org ID`",
    ErrorCode.NO_USABLE_CARD: "add one with `seatwise payment-method add --org ID --card NUMBER --exp MM/YY`",
    ErrorCode.UNKNOWN_WEBHOOK_ENDPOINT: "list them with `seatwise webhook list`",
    ErrorCode.UNKNOWN_MAIL_MESSAGE: "list them with `seatwise mail list`",
    ErrorCode.WEBHOOK_URL_NOT_ALLOWED: "an intranet host can be allowed in SEATWISE_WEBHOOK_ALLOW",
    ErrorCode.UNKNOWN_USER: "list them with `seatwise user list --org ID`",
    ErrorCode.UNKNOWN_API_KEY: "list them with `seatwise apikey list`",
    ErrorCode.UNKNOWN_SKU: "list them with `seatwise product list`",
    ErrorCode.UNKNOWN_ACTOR: "--as takes `operator`, or the id or e-mail of an active user",
    ErrorCode.CLOCK_BEFORE_LAST_CHANGE: "give a later --now",
    ErrorCode.AS_OF_IN_FUTURE: "set --now to move the clock",
    ErrorCode.UNPAID_INVOICE: "record its payment with `seatwise invoice pay ID`",
    ErrorCode.INVALID_API_KEY_OWNER: "give either --operator, or --org ID --as USER",
    ErrorCode.INVALID_PAYMENT_METHOD: "give either --card NUMBER --exp MM/YY, or --invoice",
    ErrorCode.INVALID_EXPIRY: "give the card's expiry as --exp MM/YY",
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
        print(
            json.dumps(
                {"error": {"code": exc.code, "message": message, "detail": to_jsonable_python(detail)}},
                ensure_ascii=False,
            )
        )
    err.print(f"error: {message}", highlight=False, markup=False)


def usage_error(exc: UsageError) -> BadInput:
    """A usage error Typer found (a missing option, `abc` for a number) as bad input like any other."""
    context = getattr(exc, "ctx", None)
    hint = f" (see `{context.command_path} --help`)" if context is not None else ""
    return BadInput(" ".join(exc.format_message().split()).rstrip(".") + hint, code=ErrorCode.USAGE)


def database_error(exc: Exception, *, bad_input: bool = False) -> SeatwiseError:
    """A database error as one line: a value it cannot store, a missing schema, or anything else."""
    text = (str(getattr(exc, "orig", exc)).splitlines() or [exc.__class__.__name__])[0]
    if bad_input:
        return BadInput(f"invalid value: {text}", code=ErrorCode.INVALID_VALUE)
    if isinstance(exc, (OperationalError, ProgrammingError)) and (
        "no such table" in text or ("does not exist" in text and "relation" in text)
    ):
        return SeatwiseError(
            "the database has no Seatwise schema yet: run `seatwise db upgrade`", code=ErrorCode.NO_SCHEMA
        )
    return SeatwiseError(f"database error: {text}", code=ErrorCode.DATABASE_ERROR)
