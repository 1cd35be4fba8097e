"""The operator CLI `seatwise` (Typer). One unit of work, so one commit, per command.

Every command takes --json, --db and --now. Exit codes: 0 done; 2 bad input (nothing
written); 3 refused by a rule (the decision in the output); 1 anything else.
"""

from __future__ import annotations

import gc
import inspect
import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Callable, Optional

import typer
from pydantic_core import to_jsonable_python
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import DataError, DBAPIError, OperationalError, ProgrammingError
from typer.core import TyperGroup

from seatwise import config, db, handlers  # noqa: F401  (handlers: the reactions to domain events)
from seatwise.catalog import service as catalog
from seatwise.clock import SystemClock, parse_instant
from seatwise.core.cancellation import CancellationDecision
from seatwise.core.errors import BadInput, Refused, SeatwiseError
from seatwise.core.roles import OPERATOR
from seatwise.organizations import service as organizations
from seatwise.subscriptions.schemas import DecisionOut

try:  # Typer vendors Click since 0.2x; older releases use Click itself
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import UsageError


class _RootGroup(TyperGroup):
    """The `seatwise` command: usage errors (a missing option, `abc` for a number) are bad input like any
    other, one `error: ...` line on stderr and exit 2, instead of Typer's boxed usage text."""

    def make_context(self, info_name, args, parent=None, **extra):
        as_json = "--json" in args
        try:
            ctx = super().make_context(info_name, args, parent=parent, **extra)
        except UsageError as exc:
            _usage_error(exc, as_json=as_json)
        ctx.meta["seatwise.json"] = as_json
        return ctx

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            _usage_error(exc, as_json=ctx.meta.get("seatwise.json", False))


def _usage_error(exc: Exception, *, as_json: bool) -> None:
    if type(exc).__name__ == "NoArgsIsHelpError":  # `seatwise subscription` alone: Typer shows the help
        raise exc
    context = getattr(exc, "ctx", None)
    hint = f" (see `{context.command_path} --help`)" if context is not None else ""
    message = " ".join(exc.format_message().split()).rstrip(".") + hint
    _fail(BadInput(message, code="usage"), as_json=as_json)
    raise typer.Exit(2)


app = typer.Typer(cls=_RootGroup, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Seatwise: subscription and licence billing for software sold per seat.")
GROUPS = {name: typer.Typer(no_args_is_help=True, help=text) for name, text in {
    "db": "The database schema.",
    "demo": "Demo data.",
    "product": "Products in the catalogue.",
    "org": "Customer organisations.",
    "user": "Users of an organisation.",
    "operator": "Operators of this installation (the operator console).",
    "payment-method": "Payment methods of an organisation.",
    "subscription": "Subscriptions: trials, purchases, cancellation, reactivation.",
    "licenses": "The number of licences of a subscription.",
    "license": "Licence assignments.",
    "billing": "The billing run.",
    "invoice": "Invoices and payments received.",
    "ledger": "The ledger of money movements.",
    "audit": "The audit log.",
    "apikey": "Keys of the HTTP API.",
}.items()}
for _name, _group in GROUPS.items():
    app.add_typer(_group, name=_name)

# Piped output is not cut at 80 columns: scripts and `less -S` want whole rows.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 250)
err = Console(stderr=True, soft_wrap=True)


@dataclass(frozen=True)
class Ctx:
    """What every command gets: the database, the clock's reading, and the output mode."""

    url: str
    now: datetime
    json: bool

    def uow(self):
        return db.unit_of_work(self.url)

    def read(self):
        return db.read_only(self.url)


@dataclass
class Out:
    """A command's result: data for --json, and optionally text for people."""

    data: Any
    text: str | None = None


def _print_result(result: Out, *, as_json: bool) -> None:
    data = to_jsonable_python(result.data)
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
    elif result.text is not None:
        out.print(result.text, highlight=False, markup=False)
    elif isinstance(data, list):
        _print_table(data)
    elif isinstance(data, dict):
        for key, value in data.items():
            out.print(f"{key}: {_cell(value)}", highlight=False, markup=False)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _print_table(rows: list[dict]) -> None:
    if not rows:
        out.print("(none)")
        return
    table = Table(*rows[0].keys(), box=None, pad_edge=False)
    for row in rows:
        table.add_row(*(_cell(v) for v in row.values()))
    out.print(table, highlight=False)


def _fail(exc: SeatwiseError, *, as_json: bool) -> None:
    detail = exc.detail
    if isinstance(detail, DecisionOut):
        if as_json:
            print(detail.model_dump_json())
        else:
            out.print(detail.message, highlight=False, markup=False)
    elif as_json:
        print(json.dumps({"error": {"code": exc.code, "message": exc.message,
                                    "detail": to_jsonable_python(detail)}}, ensure_ascii=False))
    err.print(f"error: {exc.message}", highlight=False, markup=False)


def _database_error(exc: Exception, *, bad_input: bool = False) -> SeatwiseError:
    text = (str(getattr(exc, "orig", exc)).splitlines() or [exc.__class__.__name__])[0]
    if bad_input:
        return BadInput(f"invalid value: {text}", code="invalid_value")
    if isinstance(exc, (OperationalError, ProgrammingError)) and (
            "no such table" in text or "does not exist" in text and "relation" in text):
        return SeatwiseError("the database has no Seatwise schema yet: run `seatwise db upgrade`", code="no_schema")
    return SeatwiseError(f"database error: {text}", code="database_error")


def _check_whole_numbers(kwargs: dict[str, Any]) -> None:
    """Ids and counts fit a 64-bit column, or the command is bad input."""
    for name, value in kwargs.items():
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
            raise BadInput(f"invalid {name.rstrip('_').replace('_', ' ')} {value}: too large", code="invalid_number")


def command(group: typer.Typer, name: str) -> Callable:
    """Register `fn(ctx, ...)` as a command with --json, --db and --now, and one error handler."""

    def decorate(fn: Callable[..., Out]) -> Callable[..., Out]:
        own = [p for p in inspect.signature(fn, eval_str=True).parameters.values() if p.name != "ctx"]
        common = [
            inspect.Parameter("json_output", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[
                bool, typer.Option("--json", help="Print one JSON document on stdout.")]),
            inspect.Parameter("db_url", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
                Optional[str], typer.Option("--db", help="Database URL (default: $SEATWISE_DATABASE_URL or "
                                                         "sqlite:///./seatwise.db).")]),
            inspect.Parameter("now", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
                Optional[str], typer.Option("--now", help="Act as if it were this ISO-8601 time (UTC).")]),
        ]

        def wrapper(**kwargs: Any) -> None:
            as_json = kwargs.pop("json_output")
            db_url, now_text = kwargs.pop("db_url"), kwargs.pop("now")
            try:
                _check_whole_numbers(kwargs)
                now = parse_instant(now_text, what="--now") if now_text is not None else SystemClock().now()
                ctx = Ctx(url=config.database_url(db_url), now=now, json=as_json)
                result = fn(ctx, **kwargs)
            except SeatwiseError as exc:
                _fail(exc, as_json=as_json)
                raise typer.Exit(exc.exit_code) from None
            except DataError as exc:  # a value the database cannot store (too long, out of range): rolled back
                _fail(_database_error(exc, bad_input=True), as_json=as_json)
                raise typer.Exit(2) from None
            except DBAPIError as exc:  # unreachable, no schema, a constraint: one line, not a traceback
                _fail(_database_error(exc), as_json=as_json)
                raise typer.Exit(1) from None
            _print_result(result, as_json=as_json)

        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        wrapper.__signature__ = inspect.Signature(own + common)
        wrapper.__annotations__ = {p.name: p.annotation for p in own + common}
        group.command(name)(wrapper)
        return fn

    return decorate


AsUser = Annotated[str, typer.Option("--as", help="Who acts: `operator`, or a user id or e-mail.")]


def _sub_out(session, sub):
    from seatwise.subscriptions import service as subscriptions
    from seatwise.subscriptions.schemas import SubscriptionOut

    product = subscriptions.product_of(session, sub)
    return SubscriptionOut.of(sub, sku=product.sku, product_name=product.name,
                              assigned=subscriptions.assigned_count(session, sub_id=sub.id))


def _decision_out(session, sub, decision: CancellationDecision) -> DecisionOut:
    locale = organizations.get_org(session, org_id=sub.org_id).locale
    return DecisionOut.of(decision, locale=locale, status=sub.status)


# --- db and demo -------------------------------------------------------------------------

@command(GROUPS["db"], "upgrade")
def db_upgrade(ctx: Ctx) -> Out:
    """Create or migrate the database schema to the newest version."""
    db.upgrade(ctx.url)
    return Out({"database": db.engine_for(ctx.url).url.render_as_string(hide_password=True), "schema": "head"},
               text="database is up to date")


@command(GROUPS["demo"], "seed")
def demo_seed(ctx: Ctx) -> Out:
    """Load the demo catalogue, customers, admins, users and subscriptions (idempotent)."""
    from seatwise import demo

    with ctx.uow() as session:
        summary = demo.seed(session, now=ctx.now)
    return Out(summary, text=demo.describe(summary))


# --- catalogue, organisations, users, payment methods --------------------------------------

@command(GROUPS["product"], "add")
def product_add(
    ctx: Ctx,
    sku: Annotated[str, typer.Option(help="Stock-keeping unit, unique.")],
    name: Annotated[str, typer.Option(help="Product name.")],
    price: Annotated[str, typer.Option(help="Price per licence per period, e.g. 12.50.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code.")] = "EUR",
    period: Annotated[str, typer.Option(help="monthly or annual.")] = "monthly",
    trial_days: Annotated[int, typer.Option(help="Length of a trial in days (0: no trial).")] = 30,
    max_seats: Annotated[Optional[int], typer.Option(help="Most licences one subscription may have.")] = None,
    policy: Annotated[str, typer.Option(help="Cancellation policy: standard or window.")] = "standard",
) -> Out:
    """Add a product to the catalogue."""
    with ctx.uow() as session:
        product = catalog.add_product(session, sku=sku, name=name, price=price, currency=currency, interval=period,
                                      trial_days=trial_days, max_seats=max_seats, policy=policy, now=ctx.now)
        return Out(_product_out(product))


def _product_out(product) -> dict:
    from seatwise.catalog.schemas import ProductOut

    return ProductOut.of(product).model_dump()


@command(GROUPS["product"], "list")
def product_list(ctx: Ctx) -> Out:
    """List the catalogue."""
    with ctx.read() as session:
        return Out([_product_out(p) for p in catalog.list_products(session)])


def _org_out(org) -> dict:
    from seatwise.organizations.schemas import OrganizationOut

    return OrganizationOut.of(org).model_dump()


@command(GROUPS["org"], "add")
def org_add(
    ctx: Ctx,
    name: Annotated[str, typer.Option(help="Organisation name.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code it pays in.")] = "EUR",
    locale: Annotated[str, typer.Option(help="Language of its messages: en or nl.")] = "en",
) -> Out:
    """Add a customer organisation."""
    with ctx.uow() as session:
        return Out(_org_out(organizations.add_org(session, name=name, currency=currency, locale=locale,
                                                  now=ctx.now)))


@command(GROUPS["org"], "list")
def org_list(ctx: Ctx) -> Out:
    """List customer organisations."""
    with ctx.read() as session:
        return Out([_org_out(o) for o in organizations.list_orgs(session)])


def _user_out(user) -> dict:
    from seatwise.organizations.schemas import UserOut

    return UserOut.of(user).model_dump()


@command(GROUPS["user"], "add")
def user_add(
    ctx: Ctx,
    org: Annotated[int, typer.Option(help="Organisation id.")],
    email: Annotated[str, typer.Option(help="E-mail address, unique.")],
    name: Annotated[Optional[str], typer.Option(help="Display name.")] = None,
    role: Annotated[str, typer.Option(help="global_admin, billing_admin, user_admin or user.")] = "user",
    password: Annotated[Optional[str], typer.Option(help="Admin center password of an admin (or set it later "
                                                         "with `seatwise user password ID`).")] = None,
) -> Out:
    """Add a user to an organisation."""
    with ctx.uow() as session:
        user = organizations.add_user(session, org_id=org, email=email, name=name, role=role, actor=OPERATOR,
                                      now=ctx.now)
        if password is not None:
            session.flush()
            organizations.set_password(session, user_id=user.id, password=password, now=ctx.now)
        return Out(_user_out(user))


def _password_from_stdin() -> str:
    """The first line of stdin, so that a password stays out of the shell's history and `ps`."""
    if sys.stdin.isatty():
        err.print("password: ", end="")
    return sys.stdin.readline().rstrip("\r\n")


@command(GROUPS["user"], "password")
def user_password(ctx: Ctx, user_id: Annotated[int, typer.Argument(metavar="ID")]) -> Out:
    """Set an admin's admin center password, read from the first line of stdin."""
    password = _password_from_stdin()
    with ctx.uow() as session:
        user = organizations.set_password(session, user_id=user_id, password=password, now=ctx.now)
        return Out(_user_out(user), text=f"password set for {user.email}")


@command(GROUPS["operator"], "add")
def operator_add(
    ctx: Ctx,
    email: Annotated[str, typer.Option(help="E-mail address, unique.")],
    name: Annotated[Optional[str], typer.Option(help="Display name.")] = None,
) -> Out:
    """Add an operator who signs in to the operator console; the password is read from stdin."""
    from seatwise.accounts import service as auth

    password = _password_from_stdin()
    with ctx.uow() as session:
        op = auth.add_operator(session, email=email, name=name, password=password, now=ctx.now)
        return Out({"id": op.id, "email": op.email, "name": op.name})


@command(GROUPS["user"], "list")
def user_list(ctx: Ctx, org: Annotated[int, typer.Option(help="Organisation id.")]) -> Out:
    """List the users of an organisation, removed ones included."""
    with ctx.read() as session:
        return Out([_user_out(u) for u in organizations.list_users(session, org_id=org)])


@command(GROUPS["user"], "remove")
def user_remove(ctx: Ctx, user_id: Annotated[int, typer.Argument(metavar="ID")]) -> Out:
    """Remove a user: their licences are freed (restorable for 30 days)."""
    with ctx.uow() as session:
        return Out(_user_out(organizations.remove_user(session, user_id=user_id, actor=OPERATOR, now=ctx.now)))


@command(GROUPS["user"], "restore")
def user_restore(ctx: Ctx, user_id: Annotated[int, typer.Argument(metavar="ID")]) -> Out:
    """Restore a user removed less than 30 days ago, with their licences where seats are free."""
    with ctx.uow() as session:
        return Out(_user_out(organizations.restore_user(session, user_id=user_id, actor=OPERATOR, now=ctx.now)))


def _method_out(method) -> dict:
    from seatwise.payments.schemas import PaymentMethodOut

    return PaymentMethodOut.of(method).model_dump()


@command(GROUPS["payment-method"], "add")
def payment_method_add(
    ctx: Ctx,
    org: Annotated[int, typer.Option(help="Organisation id.")],
    card: Annotated[Optional[str], typer.Option(help="Card number (test: 4242 4242 4242 4242).")] = None,
    exp: Annotated[Optional[str], typer.Option(help="Card expiry, MM/YY.")] = None,
    invoice: Annotated[bool, typer.Option("--invoice", help="Pay by bank transfer against invoices.")] = False,
) -> Out:
    """Add a card or pay-by-invoice to an organisation."""
    from seatwise.payments import service as payments

    with ctx.uow() as session:
        return Out(_method_out(payments.add_payment_method(session, org_id=org, card_number=card, expiry=exp,
                                                           invoice=invoice, actor=OPERATOR, now=ctx.now)))


@command(GROUPS["payment-method"], "list")
def payment_method_list(ctx: Ctx, org: Annotated[int, typer.Option(help="Organisation id.")]) -> Out:
    """List an organisation's payment methods."""
    from seatwise.payments import service as payments

    with ctx.read() as session:
        organizations.get_org(session, org_id=org)
        return Out([_method_out(m) for m in payments.list_payment_methods(session, org_id=org)])


# --- subscriptions -----------------------------------------------------------------------

Seats = Annotated[int, typer.Option(help="Number of licences.")]
SubId = Annotated[int, typer.Argument(metavar="SUB", help="Subscription id.")]


@command(GROUPS["subscription"], "trial")
def subscription_trial(
    ctx: Ctx,
    org: Annotated[int, typer.Option(help="Organisation id.")],
    sku: Annotated[str, typer.Option(help="Product SKU.")],
    seats: Seats = 25,
    as_: Annotated[str, typer.Option("--as", help="Who acts: `operator`, or a user id or e-mail.")] = "operator",
) -> Out:
    """Start a trial (fixed licences for the product's trial days)."""
    from seatwise.subscriptions import service as subscriptions

    with ctx.uow() as session:
        actor = organizations.resolve_actor(session, who=as_)
        sub = subscriptions.start_trial(session, org_id=org, sku=sku, seats=seats, actor=actor, now=ctx.now)
        return Out(_sub_out(session, sub))


@command(GROUPS["subscription"], "buy")
def subscription_buy(
    ctx: Ctx,
    org: Annotated[int, typer.Option(help="Organisation id.")],
    sku: Annotated[str, typer.Option(help="Product SKU.")],
    seats: Seats,
    as_: Annotated[str, typer.Option("--as", help="Who acts: `operator`, or a user id or e-mail.")] = "operator",
) -> Out:
    """Buy a subscription, active from today."""
    from seatwise.subscriptions import service as subscriptions

    with ctx.uow() as session:
        actor = organizations.resolve_actor(session, who=as_)
        sub = subscriptions.buy(session, org_id=org, sku=sku, seats=seats, actor=actor, now=ctx.now)
        return Out(_sub_out(session, sub))


@command(GROUPS["subscription"], "show")
def subscription_show(ctx: Ctx, sub_id: SubId) -> Out:
    """Show one subscription."""
    from seatwise.subscriptions import service as subscriptions

    with ctx.read() as session:
        return Out(_sub_out(session, subscriptions.get(session, sub_id=sub_id)))


@command(GROUPS["subscription"], "list")
def subscription_list(
    ctx: Ctx, org: Annotated[Optional[int], typer.Option(help="Organisation id (default: all).")] = None
) -> Out:
    """List subscriptions, of one organisation or all."""
    from seatwise.subscriptions import service as subscriptions

    with ctx.read() as session:
        subs = subscriptions.list_all(session) if org is None else subscriptions.list_for_org(session, org_id=org)
        rows = [_sub_out(session, s) for s in subs]
    if ctx.json:
        return Out(rows)
    return Out([{"id": r.id, "org": r.org_id, "sku": r.sku, "status": r.status, "reason": r.status_reason,
                 "licences": f"{r.assigned}/{r.seats}", "recurring": "on" if r.recurring_billing else "off",
                 "period_end": r.current_period_end.date(), "until": r.state_until and r.state_until.date()}
                for r in rows])


@command(GROUPS["subscription"], "cancel-preview")
def subscription_cancel_preview(ctx: Ctx, sub_id: SubId, as_: AsUser) -> Out:
    """What cancelling now would do: allowed or not, why, the remedy, dates and credit (R10)."""
    from seatwise.subscriptions import service as subscriptions

    with ctx.read() as session:
        actor = organizations.resolve_actor(session, who=as_)
        sub = subscriptions.get_visible(session, sub_id=sub_id, actor=actor)
        decision = _decision_out(session, sub, subscriptions.cancellation_decision(session, sub=sub, actor=actor,
                                                                                   now=ctx.now))
    return Out(decision, text=decision.message)


@command(GROUPS["subscription"], "cancel")
def subscription_cancel(
    ctx: Ctx,
    sub_id: SubId,
    as_: AsUser,
    reason: Annotated[Optional[str], typer.Option(help="too_expensive, missing_features, switching_product, "
                                                       "no_longer_needed or other.")] = None,
    comment: Annotated[Optional[str], typer.Option(help="Free-text feedback.")] = None,
) -> Out:
    """Cancel a subscription if the rules allow it; otherwise exit 3 with the decision."""
    from seatwise.subscriptions import service as subscriptions

    with ctx.uow() as session:
        actor = organizations.resolve_actor(session, who=as_)
        try:
            sub, decision = subscriptions.cancel(session, sub_id=sub_id, actor=actor, now=ctx.now, reason=reason,
                                                 comment=comment)
        except Refused as exc:
            if isinstance(exc.detail, CancellationDecision):
                sub = subscriptions.get(session, sub_id=sub_id)
                exc.detail = _decision_out(session, sub, exc.detail)
            raise
        result = {"subscription": _sub_out(session, sub), "decision": _decision_out(session, sub, decision)}
    return Out(result, text=f"subscription {sub_id} cancelled. {result['decision'].message}")


@command(GROUPS["subscription"], "recurring-billing")
def subscription_recurring_billing(
    ctx: Ctx, sub_id: SubId,
    state: Annotated[str, typer.Argument(metavar="on|off", help="on or off.")],
    as_: AsUser,
) -> Out:
    """Turn recurring billing on or off."""
    from seatwise.subscriptions import service as subscriptions

    if state not in ("on", "off"):
        raise BadInput(f"invalid state {state!r}: expected on or off", code="invalid_state")
    with ctx.uow() as session:
        actor = organizations.resolve_actor(session, who=as_)
        sub = subscriptions.set_recurring_billing(session, sub_id=sub_id, enabled=state == "on", actor=actor,
                                                  now=ctx.now)
        return Out(_sub_out(session, sub))


@command(GROUPS["subscription"], "reactivate")
def subscription_reactivate(ctx: Ctx, sub_id: SubId, as_: AsUser) -> Out:
    """Reactivate an expired or disabled subscription."""
    from seatwise.subscriptions import service as subscriptions
    from seatwise.subscriptions.schemas import MoneyOut

    with ctx.uow() as session:
        actor = organizations.resolve_actor(session, who=as_)
        sub, charge = subscriptions.reactivate(session, sub_id=sub_id, actor=actor, now=ctx.now)
        return Out({"subscription": _sub_out(session, sub), "charge": MoneyOut.of(charge.amount),
                    "charged_days": charge.days})


# --- licences ----------------------------------------------------------------------------

@command(GROUPS["licenses"], "set")
def licenses_set(
    ctx: Ctx, sub_id: SubId, total: Annotated[int, typer.Option(help="The new number of licences.")], as_: AsUser,
) -> Out:
    """Buy or remove licences to reach a total; prorated by day."""
    from seatwise.licenses import service as licenses
    from seatwise.licenses.schemas import LicenseChangeOut

    with ctx.uow() as session:
        actor = organizations.resolve_actor(session, who=as_)
        change = licenses.set_total(session, sub_id=sub_id, total=total, actor=actor, now=ctx.now)
        proration, delta = change.proration, change.change.delta
        result = LicenseChangeOut.of(change, subscription=_sub_out(session, change.subscription))
    text = f"subscription {sub_id}: {change.change.before} → {change.change.after} licences"
    if proration is not None:
        text += (f"; {'charge' if delta > 0 else 'credit'} {proration.amount.decimal_string()} "
                 f"{proration.amount.currency} for {proration.days} of {proration.days_in_period} days")
    return Out(result, text=text)


@command(GROUPS["license"], "assign")
def license_assign(
    ctx: Ctx, sub_id: SubId, user: Annotated[int, typer.Option(help="User id.")], as_: AsUser,
) -> Out:
    """Assign a licence of the subscription to a user."""
    from seatwise.licenses import service as licenses

    with ctx.uow() as session:
        actor = organizations.resolve_actor(session, who=as_)
        assignment = licenses.assign(session, sub_id=sub_id, user_id=user, actor=actor, now=ctx.now)
        return Out({"subscription_id": sub_id, "user_id": user, "assigned_at": assignment.assigned_at})


@command(GROUPS["license"], "unassign")
def license_unassign(
    ctx: Ctx, sub_id: SubId, user: Annotated[int, typer.Option(help="User id.")], as_: AsUser,
) -> Out:
    """Take a licence back from a user (the seat stays paid for)."""
    from seatwise.licenses import service as licenses

    with ctx.uow() as session:
        actor = organizations.resolve_actor(session, who=as_)
        licenses.unassign(session, sub_id=sub_id, user_id=user, actor=actor, now=ctx.now)
        return Out({"subscription_id": sub_id, "user_id": user, "unassigned_at": ctx.now})


@command(GROUPS["license"], "list")
def license_list(ctx: Ctx, sub_id: SubId) -> Out:
    """List who holds the licences of a subscription."""
    from seatwise.licenses import service as licenses
    from seatwise.subscriptions import service as subscriptions

    with ctx.read() as session:
        subscriptions.get(session, sub_id=sub_id)
        return Out([{"user_id": a.user_id, "assigned_at": a.assigned_at}
                    for a in licenses.assignments_of(session, sub_id=sub_id)])


# --- API keys --------------------------------------------------------------------------------

def _key_out(key) -> dict:
    return {"id": key.id, "prefix": key.prefix, "org_id": key.org_id, "acts_as_user_id": key.user_id,
            "operator": key.user_id is None, "created_at": key.created_at, "revoked_at": key.revoked_at}


@command(GROUPS["apikey"], "create")
def apikey_create(
    ctx: Ctx,
    operator: Annotated[bool, typer.Option("--operator", help="A key of the operator: every organisation.")] = False,
    org: Annotated[Optional[int], typer.Option(help="Organisation id (with --as).")] = None,
    as_: Annotated[Optional[int], typer.Option("--as", help="The admin (user id) the key acts as.")] = None,
) -> Out:
    """Make an API key and print it once; only its hash is kept."""
    from seatwise.apikeys import service as apikeys

    with ctx.uow() as session:
        key, secret = apikeys.create(session, operator=operator, org_id=org, as_user=as_, now=ctx.now)
        session.flush()
        result = {**_key_out(key), "key": secret}
    return Out(result, text=f"API key {key.id} (shown once, keep it safe): {secret}")


@command(GROUPS["apikey"], "list")
def apikey_list(ctx: Ctx) -> Out:
    """List API keys (never the keys themselves)."""
    from seatwise.apikeys import service as apikeys

    with ctx.read() as session:
        return Out([_key_out(k) for k in apikeys.list_keys(session)])


@command(GROUPS["apikey"], "revoke")
def apikey_revoke(ctx: Ctx, key_id: Annotated[int, typer.Argument(metavar="ID")]) -> Out:
    """Revoke an API key: it stops working at once."""
    from seatwise.apikeys import service as apikeys

    with ctx.uow() as session:
        return Out(_key_out(apikeys.revoke(session, key_id=key_id, now=ctx.now)))


# --- billing, audit, serve ---------------------------------------------------------------

@command(GROUPS["billing"], "run")
def billing_run(
    ctx: Ctx,
    as_of: Annotated[Optional[str], typer.Option(help="Do everything due up to this ISO-8601 time "
                                                     "(default: now).")] = None,
) -> Out:
    """Perform every transition, charge, invoice, payment and refund due up to a time, in time order."""
    import time

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from seatwise.billing_run import service as billing_run

    until = parse_instant(as_of, what="--as-of") if as_of is not None else ctx.now
    if until > ctx.now:
        raise BadInput(f"--as-of {until.isoformat()} is later than now ({ctx.now.isoformat()}): "
                       "expected a time up to now (set --now to move the clock)", code="as_of_in_future")
    summary = billing_run.RunSummary(as_of=until)
    started = time.perf_counter()
    show = err.is_terminal and not ctx.json
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                  disable=not show, transient=True) as progress:
        task = progress.add_task("billing run", total=None)
        while not summary.done:
            with ctx.uow() as session:  # one commit per step: an interrupted run resumes where it stopped
                summary.add(billing_run.run_step(session, as_of=until))
            progress.update(task, description=f"{summary.subscriptions:,} subscriptions, "
                                              f"{summary.invoices:,} invoices")
    result = {**summary.as_dict(), "seconds": round(time.perf_counter() - started, 3)}
    moved = ", ".join(f"{n} {event}" for event, n in result["transitions"].items() if n) or "no transitions"
    money = ", ".join(f"{amount} {currency}" for currency, amount in result["invoiced"].items()) or "nothing"
    return Out(result, text=f"billing run up to {until.isoformat()}: {result['subscriptions']} subscriptions "
                            f"({moved}); {result['invoices']} invoices, {money} due; {result['seconds']} s")


# --- invoices and the ledger ---------------------------------------------------------------

InvoiceId = Annotated[int, typer.Argument(metavar="ID", help="Invoice id.")]


def _invoice_out(session, invoice):
    from seatwise.billing import service as billing
    from seatwise.billing.schemas import InvoiceOut

    return InvoiceOut.of(invoice, billing.lines_of(session, invoice_id=invoice.id))


@command(GROUPS["invoice"], "list")
def invoice_list(ctx: Ctx, org: Annotated[int, typer.Option(help="Organisation id.")]) -> Out:
    """List an organisation's invoices."""
    from seatwise.billing import service as billing

    with ctx.read() as session:
        organizations.get_org(session, org_id=org)
        invoices = [_invoice_out(session, i) for i in billing.list_invoices(session, org_id=org)]
    if ctx.json:
        return Out(invoices)
    return Out([{"id": i.id, "number": i.number, "date": i.billing_date.date(), "status": i.status,
                 "total": i.total, "credit": i.credit_applied, "due": i.amount_due, "refunded": i.refunded,
                 "currency": i.currency} for i in invoices])


@command(GROUPS["invoice"], "show")
def invoice_show(ctx: Ctx, invoice_id: InvoiceId) -> Out:
    """Show an invoice with its lines."""
    from seatwise.billing import service as billing

    with ctx.read() as session:
        invoice = _invoice_out(session, billing.get_invoice(session, invoice_id=invoice_id))
    lines = [f"  {line.description}: {line.amount}" for line in invoice.lines]
    return Out(invoice, text="\n".join([
        f"invoice {invoice.number} of {invoice.billing_date.date()} ({invoice.status}), organisation "
        f"{invoice.org_id}", *lines,
        f"  total {invoice.total}, credit applied {invoice.credit_applied}, amount due {invoice.amount_due}, "
        f"refunded {invoice.refunded} {invoice.currency}; due {invoice.due_at.date()}"]))


@command(GROUPS["invoice"], "pay")
def invoice_pay(
    ctx: Ctx, invoice_id: InvoiceId,
    as_: Annotated[str, typer.Option("--as", help="Who records it: `operator`, or a user id or e-mail.")] = "operator",
) -> Out:
    """Record a payment received for an open invoice (what non-payment disabled comes back)."""
    from seatwise.billing import service as billing

    with ctx.uow() as session:
        actor = organizations.resolve_actor(session, who=as_)
        return Out(_invoice_out(session, billing.pay_invoice(session, invoice_id=invoice_id, actor=actor,
                                                             now=ctx.now)))


@command(GROUPS["ledger"], "show")
def ledger_show(ctx: Ctx, org: Annotated[int, typer.Option(help="Organisation id.")]) -> Out:
    """Show an organisation's ledger: charges, credits, payments and refunds."""
    from seatwise.billing import service as billing
    from seatwise.billing.schemas import LedgerEntryOut

    with ctx.read() as session:
        organizations.get_org(session, org_id=org)
        return Out([LedgerEntryOut.of(e) for e in billing.ledger_entries(session, org_id=org)])


@command(GROUPS["ledger"], "check")
def ledger_check(ctx: Ctx) -> Out:
    """Prove that every organisation's books balance (R18); exit 1 and list what does not."""
    from dataclasses import asdict

    from seatwise.billing import service as billing

    with ctx.read() as session:
        problems = billing.check_ledger(session)
    if problems:
        raise SeatwiseError(f"{len(problems)} imbalances: " + "; ".join(
            f"organisation {p.org_id} {p.what}: expected {p.expected}, found {p.found}" for p in problems[:20]),
            code="ledger_imbalance", detail=[asdict(p) for p in problems])
    return Out({"balanced": True}, text="every organisation balances")


@command(GROUPS["audit"], "list")
def audit_list(
    ctx: Ctx,
    org: Annotated[Optional[int], typer.Option(help="Organisation id.")] = None,
    subscription: Annotated[Optional[int], typer.Option(help="Subscription id.")] = None,
) -> Out:
    """Show the audit log, oldest first."""
    from seatwise.events import service as audit
    from seatwise.subscriptions import service as subscriptions

    with ctx.read() as session:
        if org is not None:
            organizations.get_org(session, org_id=org)
        if subscription is not None:
            subscriptions.get(session, sub_id=subscription)
        entries = audit.entries(session, org_id=org, entity="subscriptions" if subscription is not None else None,
                                entity_id=subscription)
        rows = [{"id": e.id, "at": e.at, "actor": e.actor, "org_id": e.org_id, "action": e.action,
                 "entity": e.entity, "entity_id": e.entity_id, "before": e.before, "after": e.after}
                for e in entries]
    if ctx.json:
        return Out(rows)
    return Out([{k: r[k] for k in ("id", "at", "actor", "action", "entity", "entity_id")} for r in rows])


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    db_url: Annotated[Optional[str], typer.Option("--db", help="Database URL.")] = None,
    now: Annotated[Optional[str], typer.Option("--now", help="Freeze the clock at this ISO-8601 time.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the address as JSON on start.")] = False,
    worker: Annotated[bool, typer.Option("--worker/--no-worker",
                                         help="Deliver webhooks from this process too.")] = True,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64,
                                         help="Server processes (one per core serves the most requests).")] = 1,
) -> None:
    """Serve the HTTP API and admin center (and deliver webhooks, unless --no-worker)."""
    import uvicorn

    from seatwise.app import create_app
    from seatwise.clock import FixedClock

    try:
        clock = FixedClock(parse_instant(now, what="--now")) if now else SystemClock()
        application = create_app(url=config.database_url(db_url), clock=clock)
    except SeatwiseError as exc:
        err.print(f"error: {exc.message}", highlight=False, markup=False)
        raise typer.Exit(exc.exit_code) from None
    url = f"http://{host}:{port}/"
    if json_output:
        print(json.dumps({"url": url}), flush=True)
    else:
        out.print(f"Seatwise is serving {url}: admin center {url}, operator console {url}operator, "
                  f"health {url}health, JSON {url}v1/subscriptions")
    # What was loaded at start lives as long as the server: keeping it out of the garbage collector's
    # full collections keeps their pauses out of page times.
    gc.collect()
    gc.freeze()
    if worker:
        from seatwise.webhooks import worker as webhooks_worker

        webhooks_worker.start_thread(application.state.database_url, clock=clock)
    if workers == 1:
        uvicorn.run(application, host=host, port=port, log_level="warning")
        return
    # Each server process makes its own app from the environment; the webhooks thread stays here.
    os.environ["SEATWISE_DATABASE_URL"] = application.state.database_url
    if now:
        os.environ["SEATWISE_NOW"] = now
    uvicorn.run("seatwise.app:create_app_from_env", factory=True, workers=workers, host=host, port=port,
                log_level="warning")


@app.command("worker")
def worker_command(
    db_url: Annotated[Optional[str], typer.Option("--db", help="Database URL.")] = None,
    now: Annotated[Optional[str], typer.Option("--now", help="Freeze the clock at this ISO-8601 time.")] = None,
    once: Annotated[bool, typer.Option("--once", help="Make the attempts due now, then stop.")] = False,
) -> None:
    """Deliver events to webhook endpoints (signed, retried with backoff) until stopped."""
    import threading

    from seatwise.clock import FixedClock
    from seatwise.webhooks import worker as webhooks_worker

    try:
        clock = FixedClock(parse_instant(now, what="--now")) if now else SystemClock()
        url = config.database_url(db_url)
        db.engine_for(url)
    except SeatwiseError as exc:
        err.print(f"error: {exc.message}", highlight=False, markup=False)
        raise typer.Exit(exc.exit_code) from None
    if once:
        out.print(f"{webhooks_worker.run_once(url, clock=clock)} delivery attempts")
        return
    out.print("Seatwise worker: delivering webhooks (Ctrl+C stops)")
    webhooks_worker.run(url, clock=clock, stop=threading.Event())


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
