"""The operator CLI `seatwise` (Typer): one sub-app per domain, one unit of work (so one commit) per command.

Every command takes --json, --db and --now. Exit codes: 0 done; 2 bad input (nothing written);
3 refused by a rule (the decision in the output); 1 anything else. Errors are told by
`seatwise.cli.errors`, one line on stderr.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from seatwise import handlers  # noqa: F401  (the reactions to domain events, loaded by every process)
from seatwise.cli import (
    apikeys,
    audit,
    billing,
    billing_run,
    catalog,
    licenses,
    mail,
    operators,
    organizations,
    payments,
    subscriptions,
    system,
    tax,
    webhooks,
)
from seatwise.cli.errors import UsageError, fail, usage_error

try:  # Typer vendors Click since 0.2x; older releases use Click itself
    from typer._click import Context
except ImportError:  # pragma: no cover
    from click import Context  # type: ignore[no-redef, assignment]


class _RootGroup(TyperGroup):
    """The `seatwise` command: usage errors (a missing option, `abc` for a number) are bad input like any
    other, one `error: ...` line on stderr and exit 2, instead of Typer's boxed usage text."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: Context | None = None, **extra: Any
    ) -> Context:
        """Parse the command line; a usage error is told as bad input."""
        as_json = "--json" in args
        try:
            ctx = super().make_context(info_name, args, parent=parent, **extra)
        except UsageError as exc:
            _usage_error(exc, as_json=as_json)
        ctx.meta["seatwise.json"] = as_json
        return ctx

    def invoke(self, ctx: Context) -> Any:
        """Run the command; a usage error found in a sub-command is told as bad input."""
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            _usage_error(exc, as_json=ctx.meta.get("seatwise.json", False))


def _usage_error(exc: UsageError, *, as_json: bool) -> NoReturn:
    if type(exc).__name__ == "NoArgsIsHelpError":  # `seatwise subscription` alone: Typer shows the help
        raise exc
    fail(usage_error(exc), as_json=as_json)
    raise typer.Exit(2)


app = typer.Typer(
    cls=_RootGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Seatwise: subscription and licence billing for software sold per seat.",
)
app.command("serve")(system.serve)
app.command("worker")(system.worker)
for _name, _group in {
    "db": system.schema,
    "demo": system.demo_data,
    "product": catalog.products,
    "org": organizations.orgs,
    "user": organizations.users,
    "operator": operators.operators,
    "payment-method": payments.payment_methods,
    "subscription": subscriptions.subscription,
    "licenses": licenses.seat_count,
    "license": licenses.assignments,
    "billing": billing_run.billing_group,
    "invoice": billing.invoices,
    "credit-note": billing.credit_note,
    "ledger": billing.ledger,
    "audit": audit.audit_log,
    "apikey": apikeys.keys,
    "webhook": webhooks.endpoints,
    "mail": mail.messages,
    "vendor": tax.vendor,
}.items():
    app.add_typer(_group, name=_name)


def main() -> None:
    """The `seatwise` console script."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
