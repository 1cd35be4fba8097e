"""What every command shares: --json, --db and --now, one unit of work, one error handler, common options.

Exit codes: 0 done; 2 bad input (nothing written); 3 refused by a rule (the decision in the
output); 1 anything else.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import typer
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.orm import Session

from seatwise import config, db
from seatwise.cli.errors import database_error, fail
from seatwise.cli.output import Out, err, print_result
from seatwise.clock import SystemClock, parse_instant
from seatwise.core.errors import BadInput, ErrorCode, SeatwiseError

Command = Callable[..., Out]


def group(help_text: str) -> typer.Typer:
    """A command group (`seatwise subscription ...`): without a command it shows its help."""
    return typer.Typer(no_args_is_help=True, help=help_text)


@dataclass(frozen=True)
class Ctx:
    """What every command gets: the database, the clock's reading, and the output mode."""

    url: str
    now: datetime
    json: bool

    def uow(self) -> AbstractContextManager[Session]:
        """One unit of work: committed once at the end, or rolled back whole."""
        return db.unit_of_work(self.url)

    def read(self) -> AbstractContextManager[Session]:
        """A session for reads only."""
        return db.read_only(self.url)


def _check_whole_numbers(kwargs: dict[str, Any]) -> None:
    """Ids and counts fit a 64-bit column, or the command is bad input."""
    for name, value in kwargs.items():
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
            raise BadInput(
                f"invalid {name.rstrip('_').replace('_', ' ')} {value}: too large", code=ErrorCode.INVALID_NUMBER
            )


def _common_options() -> list[inspect.Parameter]:
    keyword = inspect.Parameter.KEYWORD_ONLY
    return [
        inspect.Parameter(
            "json_output",
            keyword,
            default=False,
            annotation=Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")],
        ),
        inspect.Parameter(
            "db_url",
            keyword,
            default=None,
            annotation=Annotated[
                str | None,
                typer.Option("--db", help="Database URL (default: $SEATWISE_DATABASE_URL or sqlite:///./seatwise.db)."),
            ],
        ),
        inspect.Parameter(
            "now",
            keyword,
            default=None,
            annotation=Annotated[str | None, typer.Option("--now", help="Act as if it were this ISO-8601 time (UTC).")],
        ),
    ]


def command(app: typer.Typer, name: str) -> Callable[[Command], Command]:
    """Register `fn(ctx, ...)` as a command with --json, --db and --now, and one error handler."""

    def decorate(fn: Command) -> Command:
        own = [p for p in inspect.signature(fn, eval_str=True).parameters.values() if p.name != "ctx"]
        common = _common_options()

        def wrapper(**kwargs: Any) -> None:
            as_json = kwargs.pop("json_output")
            db_url, now_text = kwargs.pop("db_url"), kwargs.pop("now")
            try:
                _check_whole_numbers(kwargs)
                now = parse_instant(now_text, what="--now") if now_text is not None else SystemClock().now()
                ctx = Ctx(url=config.database_url(db_url), now=now, json=as_json)
                result = fn(ctx, **kwargs)
            except SeatwiseError as exc:
                fail(exc, as_json=as_json)
                raise typer.Exit(exc.exit_code) from None
            except DataError as exc:  # a value the database cannot store (too long, out of range): rolled back
                fail(database_error(exc, bad_input=True), as_json=as_json)
                raise typer.Exit(2) from None
            except DBAPIError as exc:  # unreachable, no schema, a constraint: one line, not a traceback
                fail(database_error(exc), as_json=as_json)
                raise typer.Exit(1) from None
            print_result(result, as_json=as_json)

        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        wrapper.__signature__ = inspect.Signature(own + common)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in own + common}
        app.command(name)(wrapper)
        return fn

    return decorate


def fail_at_start(exc: SeatwiseError, *, as_json: bool = False) -> typer.Exit:
    """For the long-running commands (serve, worker): the error as one line, and the exit to raise."""
    fail(exc, as_json=as_json)
    return typer.Exit(exc.exit_code)


def password_from_stdin() -> str:
    """The first line of stdin, so that a password stays out of the shell's history and `ps`."""
    if sys.stdin.isatty():
        err.print("password: ", end="")
    return sys.stdin.readline().rstrip("\r\n")


# Options several groups take.
AsUser = Annotated[str, typer.Option("--as", help="Who acts: `operator`, or a user id or e-mail.")]
OrgId = Annotated[int, typer.Option("--org", help="Organisation id.")]
SubId = Annotated[int, typer.Argument(metavar="SUB", help="Subscription id.")]
