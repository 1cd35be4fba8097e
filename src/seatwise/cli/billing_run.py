"""`seatwise billing run`: every transition, charge, invoice, payment and refund due up to a time."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session

from seatwise import mailing
from seatwise.billing_run import jobs
from seatwise.billing_run.service import RunSummary, check_as_of
from seatwise.cli.common import Ctx, command, group
from seatwise.cli.output import Out, err
from seatwise.clock import FixedClock, parse_instant
from seatwise.mail import worker as mail_worker

billing_group = group("The billing run.")


@command(billing_group, "run")
def billing_run(
    ctx: Ctx,
    as_of: Annotated[
        str | None, typer.Option(help="Do everything due up to this ISO-8601 time (default: now).")
    ] = None,
) -> Out:
    """Perform every transition, charge, invoice, payment and refund due up to a time, in time order."""
    until = parse_instant(as_of, what="--as-of") if as_of is not None else ctx.now
    check_as_of(as_of=until, now=ctx.now)
    started = time.perf_counter()
    show = err.is_terminal and not ctx.json
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        disable=not show,
        transient=True,
    ) as progress:
        task = progress.add_task("billing run", total=None)

        def show_progress(_session: Session, summary: RunSummary) -> None:
            progress.update(task, description=f"{summary.subscriptions:,} subscriptions, {summary.invoices:,} invoices")

        summary = jobs.run_to_end(ctx.url, as_of=until, after_step=show_progress)
    # The mail the run's changes queued (R27), sent (or kept) at once, as `seatwise worker --once` does.
    mailed = mail_worker.run_once(
        ctx.url, clock=FixedClock(ctx.now), render=mailing.render_attachment, prepare=mailing.tell_reminders
    )
    result = {**summary.as_dict(), "mail": mailed, "seconds": round(time.perf_counter() - started, 3)}
    moved = ", ".join(f"{n} {event}" for event, n in result["transitions"].items() if n) or "no transitions"
    money = ", ".join(f"{amount} {currency}" for currency, amount in result["invoiced"].items()) or "nothing"
    settled = f"; {n} credit notes settled" if (n := result["credit_notes_settled"]) else ""
    mail = ", ".join(f"{n} {what}" for what, n in mailed.items() if n)
    settled += f"; mail: {mail}" if mail else ""
    return Out(
        result,
        text=f"billing run up to {until.isoformat()}: {result['subscriptions']} subscriptions "
        f"({moved}); {result['invoices']} invoices, {money} due{settled}; {result['seconds']} s",
    )
