"""The installation itself: `seatwise db`, `seatwise demo`, and the long-running `serve` and `worker`."""

from __future__ import annotations

import gc
import json
import os
import threading
from datetime import timedelta
from typing import Annotated

import typer
import uvicorn
from sqlalchemy.exc import DBAPIError

from seatwise import config, db, demo, mailing
from seatwise.billing_run import schedule
from seatwise.cli.common import Ctx, command, fail_at_start, group
from seatwise.cli.errors import database_error
from seatwise.cli.output import Out, out, print_result
from seatwise.clock import Clock, FixedClock, SystemClock, parse_instant
from seatwise.core.errors import SeatwiseError
from seatwise.mail import sender as mail_sender
from seatwise.mail import worker as mail_worker
from seatwise.payments.gateways import gateway_for
from seatwise.webhooks import worker as webhooks_worker

schema = group("The database schema.")
demo_data = group("Demo data.")

Db = Annotated[str | None, typer.Option("--db", help="Database URL.")]
FrozenNow = Annotated[str | None, typer.Option("--now", help="Freeze the clock at this ISO-8601 time.")]
BillingEvery = Annotated[
    str,
    typer.Option(
        "--billing-every", help="How often to bill everything due: seconds (300), or 30s, 5m, 1h.", show_default=True
    ),
]


@command(schema, "upgrade")
def db_upgrade(ctx: Ctx) -> Out:
    """Create or migrate the database schema to the newest version."""
    db.upgrade(ctx.url)
    return Out(
        {"database": db.engine_for(ctx.url).url.render_as_string(hide_password=True), "schema": "head"},
        text="database is up to date",
    )


@command(demo_data, "seed")
def demo_seed(ctx: Ctx) -> Out:
    """Load the demo catalogue, customers, admins, users and subscriptions (idempotent)."""
    summary = demo.seed(ctx.url, now=ctx.now, gateway=gateway_for(ctx.url))
    return Out(summary, text=demo.describe(summary))


def _clock(now: str | None) -> Clock:
    return FixedClock(parse_instant(now, what="--now")) if now else SystemClock()


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    db_url: Db = None,
    now: FrozenNow = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the address as JSON on start.")] = False,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="Run the billing schedule, deliver webhooks and send mail from this process too.",
        ),
    ] = True,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="Server processes (one per core serves the most requests).")
    ] = 1,
    billing_every: BillingEvery = "5m",
) -> None:
    """Serve the HTTP API and admin center (and bill what is due, deliver webhooks and send mail, unless
    --no-worker)."""
    # The app imports every route, page and template (about a second): only `serve` pays for it.
    from seatwise.app import create_app

    try:
        every = schedule.parse_every(billing_every, what="--billing-every")
        clock = _clock(now)
        _check_mail_settings()
        application = create_app(url=config.database_url(db_url), clock=clock)
    except SeatwiseError as exc:
        raise fail_at_start(exc) from None
    url = f"http://{host}:{port}/"
    if json_output:
        print(json.dumps({"url": url}), flush=True)
    else:
        out.print(
            f"Seatwise is serving {url}: admin center {url}, operator console {url}operator, "
            f"health {url}health, JSON {url}v1/subscriptions"
        )
    # What was loaded at start lives as long as the server: keeping it out of the garbage collector's
    # full collections keeps their pauses out of page times.
    gc.collect()
    gc.freeze()
    if worker:
        webhooks_worker.start_thread(application.state.database_url, clock=clock)
        mail_worker.start_thread(
            application.state.database_url,
            clock=clock,
            render=mailing.render_attachment,
            prepare=mailing.tell_reminders,
        )
        schedule.start_thread(application.state.database_url, clock=clock, every=every)
    # X-Forwarded-For is read by the app itself, and only from SEATWISE_TRUSTED_PROXIES: uvicorn's own
    # reading of it would trust any peer on 127.0.0.1.
    if workers == 1:
        uvicorn.run(application, host=host, port=port, log_level="warning", proxy_headers=False)
        return
    # Each server process makes its own app from the environment; the webhook, mail and billing threads stay here.
    os.environ["SEATWISE_DATABASE_URL"] = application.state.database_url
    if now:
        os.environ["SEATWISE_NOW"] = now
    uvicorn.run(
        "seatwise.app:create_app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=False,
    )


def worker(
    db_url: Db = None,
    now: FrozenNow = None,
    once: Annotated[
        bool, typer.Option("--once", help="Make one billing pass and the delivery attempts due now, then stop.")
    ] = False,
    billing_every: BillingEvery = "5m",
    json_output: Annotated[bool, typer.Option("--json", help="With --once: print what was done as JSON.")] = False,
) -> None:
    """Bill everything due every few minutes, deliver events to webhook endpoints (signed, retried with
    backoff) and send mail until stopped."""
    try:
        every = schedule.parse_every(billing_every, what="--billing-every")
        clock = _clock(now)
        url = config.database_url(db_url)
        db.engine_for(url)
        _check_mail_settings()
    except SeatwiseError as exc:
        raise fail_at_start(exc, as_json=json_output) from None
    if once:
        _once(url, clock=clock, every=every, as_json=json_output)
        return
    out.print(
        f"Seatwise worker: billing every {_duration(every)}, delivering webhooks and {_mail_mode()} (Ctrl+C stops)"
    )
    billing = schedule.start_thread(url, clock=clock, every=every)
    mail = mail_worker.start_thread(url, clock=clock, render=mailing.render_attachment, prepare=mailing.tell_reminders)
    try:
        webhooks_worker.run(url, clock=clock, stop=threading.Event())
    finally:
        billing.stop.set()  # a pass under way is cut with the process, and resumed by the next (R20)
        mail.set()  # a message under way is sent again once its lease ends, with the same Message-ID


def _once(url: str, *, clock: Clock, every: timedelta, as_json: bool) -> None:
    """One billing pass, then one round of webhook deliveries (which carries the pass's events) and of mail;
    one line."""
    try:
        billed = schedule.run_pass(url, clock=clock, every=every)
        attempts = webhooks_worker.run_once(url, clock=clock)
        mailed = mail_worker.run_once(
            url, clock=clock, render=mailing.render_attachment, prepare=mailing.tell_reminders
        )
    except SeatwiseError as exc:
        raise fail_at_start(exc, as_json=as_json) from None
    except DBAPIError as exc:  # unreachable, no schema: one line, not a traceback
        raise fail_at_start(database_error(exc), as_json=as_json) from None
    print_result(
        Out(
            {"billing": billed.as_dict(), "webhooks": {"attempts": attempts}, "mail": mailed},
            text=f"{billed.describe()}; {attempts} delivery attempts; mail: "
            + ", ".join(f"{n} {what}" for what, n in mailed.items() if n or what == "sent"),
        ),
        as_json=as_json,
    )
    if billed.error:
        raise typer.Exit(1)


def _check_mail_settings() -> None:
    """SEATWISE_SMTP_URL and SEATWISE_MAIL_FROM are read at start, so that a typo stops the process at once."""
    mail_sender.smtp_settings()
    mail_sender.sender_address()


def _mail_mode() -> str:
    smtp = mail_sender.smtp_settings()
    return f"sending mail through {smtp.host}:{smtp.port}" if smtp else "keeping mail (no SEATWISE_SMTP_URL)"


def _duration(every: timedelta) -> str:
    seconds = int(every.total_seconds())
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
