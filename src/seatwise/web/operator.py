"""The operator console: customers, products, the vendor profile, billing runs, sent mail, the audit log, and
revenue over time."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from seatwise.billing_run import jobs, schedule
from seatwise.billing_run.models import BillingRun
from seatwise.catalog import service as catalog
from seatwise.clock import parse_instant
from seatwise.core.errors import ErrorCode, NotFound
from seatwise.core.lifecycle import Status
from seatwise.deps import MAX_ID, Id
from seatwise.events import service as events
from seatwise.i18n import gettext
from seatwise.mail import service as mail
from seatwise.organizations.models import Organization
from seatwise.subscriptions.models import Subscription
from seatwise.tax import service as tax
from seatwise.web import auth
from seatwise.web.charts import revenue_chart_svg
from seatwise.web.metrics import monthly_revenue
from seatwise.web.pages import (
    TextForm,
    done,
    language,
    now,
    operator_form,
    operator_signed_in,
    reading,
    render,
    text_fields,
    writing,
)
from seatwise.web.signin import signin, signin_page

router = APIRouter(prefix="/operator", include_in_schema=False)
OperatorWho = Annotated[auth.Principal, Depends(operator_signed_in)]
Form = Annotated[TextForm, Depends(operator_form)]


@router.get("/signin")
def signin_form(request: Request) -> HTMLResponse:
    """The operators' sign-in form."""
    return signin_page(request, operator=True)


@router.post("/signin")
def signin_post(request: Request, form: Annotated[TextForm, Depends(text_fields)]) -> Response:
    """Sign an operator in."""
    return signin(request, form, operator=True)


@router.get("")
def dashboard(request: Request, who: OperatorWho) -> HTMLResponse:
    """Customers at a glance and monthly recurring revenue and churn over the last twelve months."""
    with reading(request) as session:
        months = monthly_revenue(session, now=now(request), months=12)
        customers = _customers(session)
    locale = language(request, who)
    title = gettext(locale, "Monthly recurring revenue and churn")
    charts = [
        revenue_chart_svg(months=months, currency=c, locale=locale, title=f"{title} ({c})")
        for c in sorted({c for m in months for c in m.mrr}) or ["EUR"]
    ]
    return render(request, "operator/dashboard.html", who=who, customers=customers, charts=charts)


def _customers(session: Session) -> list[dict]:
    """Each organisation with its subscriptions counted by status as last written (by an action or a run)."""
    counts = {
        org_id: {"active": active, "trial": trial, "ended": ended}
        for org_id, active, trial, ended in session.execute(
            select(
                Subscription.org_id,
                func.sum(case((Subscription.status == Status.ACTIVE, 1), else_=0)),
                func.sum(case((Subscription.status == Status.TRIAL, 1), else_=0)),
                func.sum(case((Subscription.status.in_(("expired", "disabled", "deleted")), 1), else_=0)),
            ).group_by(Subscription.org_id)
        )
    }
    empty = {"active": 0, "trial": 0, "ended": 0}
    return [
        {"org": org, **counts.get(org.id, empty)}
        for org in session.scalars(select(Organization).order_by(Organization.name))
    ]


@router.get("/vendor")
def vendor(request: Request, who: OperatorWho) -> HTMLResponse:
    """The vendor's legal profile, as invoices print it, and whether it charges VAT (R22)."""
    with reading(request) as session:
        profile = tax.get_vendor(session)
    return render(request, "operator/vendor.html", who=who, vendor=profile)


@router.get("/products")
def products(request: Request, who: OperatorWho) -> HTMLResponse:
    """The catalogue."""
    with reading(request) as session:
        rows = catalog.list_products(session)
    return render(request, "operator/products.html", who=who, products=rows)


@router.get("/billing-runs")
def billing_runs(request: Request, who: OperatorWho) -> HTMLResponse:
    """The automatic billing run's last pass and the next, the latest runs, and a button to start one."""
    with reading(request) as session:
        runs = jobs.recent(session)
        last = schedule.last_pass(session)
    automatic = None
    if last is not None:
        every = timedelta(seconds=last.every_seconds)
        automatic = {
            "last": last,
            "succeeded": sum(last.payments.get(k, 0) for k in ("succeeded", "retried")),
            "failed": sum(last.payments.get(k, 0) for k in ("failed", "retry_failed")),
            # A whole interval late: the worker that made it is gone, and no other has made a pass since.
            "overdue": now(request) > last.next_at + every,
        }
    return render(request, "operator/billing_runs.html", who=who, runs=runs, automatic=automatic)


@router.post("/billing-runs")
def start_billing_run(request: Request, who: OperatorWho, form: Form) -> Response:
    """Start a billing run up to now (or an earlier time) in the background, then watch it."""
    as_of = parse_instant(form["as_of"], what="as of") if form.get("as_of") else now(request)
    with writing(request) as session:
        run = jobs.start(session, as_of=as_of, started_by=f"operator:{who.operator_id}", now=now(request))
    url, clock = request.app.state.database_url, request.app.state.clock
    threading.Thread(
        target=jobs.perform, kwargs=dict(url=url, run_id=run.id, clock=clock), daemon=True, name=f"billing-run-{run.id}"
    ).start()
    return done(f"/operator/billing-runs/{run.id}", "run_started")


@router.get("/billing-runs/{run_id}")
def billing_run(request: Request, who: OperatorWho, run_id: Id, fragment: bool = False) -> HTMLResponse:
    """A run's progress; the page refreshes itself while the run goes on."""
    with reading(request) as session:
        run = session.get(BillingRun, run_id)
        if run is None:
            raise NotFound(f"unknown billing run {run_id}", code=ErrorCode.NOT_FOUND)
    template = "operator/run_progress.html" if fragment else "operator/billing_run.html"
    return render(request, template, who=who, run=run)


@router.get("/mail")
def sent_mail(
    request: Request,
    who: OperatorWho,
    status: Annotated[str | None, Query(max_length=10)] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> HTMLResponse:
    """Every mail message, newest first, 100 a page: recipient, subject, status, attempts and when (R27)."""
    with reading(request) as session:
        rows = mail.list_messages(session, status=status or None, before=before, limit=100)
    return render(request, "operator/mail.html", who=who, messages=rows, chosen=status or "", statuses=mail.STATUSES)


@router.get("/mail/{message_id}")
def mail_message(request: Request, who: OperatorWho, message_id: Id) -> HTMLResponse:
    """One message: its headers, status, the server's last answer, its text and its HTML (shown as source)."""
    with reading(request) as session:
        message = mail.get_message(session, message_id=message_id)
    return render(request, "operator/mail_message.html", who=who, message=message)


@router.get("/audit")
def audit_log(
    request: Request,
    who: OperatorWho,
    org: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> HTMLResponse:
    """The audit log, newest first, 100 entries a page, for one organisation or all."""
    with reading(request) as session:
        entries = events.latest(session, org_id=org, before_id=before, limit=100)
        orgs = list(session.scalars(select(Organization).order_by(Organization.name)))
    return render(request, "operator/audit.html", who=who, entries=entries, orgs=orgs, org=org)
