"""`demo seed` makes subscriptions in every state, once."""

from __future__ import annotations

from sqlalchemy import func, select

from seatwise import demo, mailing
from seatwise.clock import FixedClock
from seatwise.db import Base
from seatwise.mail import service as mail_service
from seatwise.mail import worker as mail_worker
from seatwise.payments.gateways import gateway_for
from tests.conftest import T0


def _row_counts(session) -> dict[str, int]:
    return {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def test_demo_seed_covers_every_state_and_is_idempotent(uow):
    gateway = gateway_for(uow.url)
    first = demo.seed(uow.url, now=T0, gateway=gateway)
    with uow() as s:
        counts = _row_counts(s)
    second = demo.seed(uow.url, now=T0, gateway=gateway)
    with uow() as s:
        assert _row_counts(s) == counts
    statuses = {sub["status"] for org in first["organizations"] for sub in org["subscriptions"]}
    assert statuses == {"trial", "active", "expired", "disabled", "deleted"}
    assert [o["locale"] for o in first["organizations"]] == ["en", "nl"]
    assert (first["seeded"], second["seeded"]) == (True, False)
    assert second["organizations"] == first["organizations"]


def test_r27_the_demo_s_mail_is_kept_and_listed_without_a_mail_server(uow, monkeypatch):
    monkeypatch.delenv("SEATWISE_SMTP_URL", raising=False)
    demo.seed(uow.url, now=T0, gateway=gateway_for(uow.url))
    done = mail_worker.run_once(uow.url, clock=FixedClock(T0), render=mailing.render_attachment)
    with uow() as s:
        kept = mail_service.list_messages(s, limit=1000)
    assert done["kept"] == len(kept) > 0 and {m.status for m in kept} == {"kept"}
    # each of the demo's invoices told to its organisation's Global and Billing admin, in its language
    assert {(m.to_address, m.subject.split(" ")[0]) for m in kept if m.kind == "invoice_issued"} == {
        ("admin@contoso.example", "Invoice"),
        ("billing@contoso.example", "Invoice"),
        ("beheer@fabrikam.example", "Factuur"),
        ("facturen@fabrikam.example", "Factuur"),
    }
