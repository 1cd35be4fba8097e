"""R27's reminders: what time brings is told on its calendar day, once however many passes run that day: a
subscription with recurring billing off 7 days before it ends, and a deletion 7 days before it happens."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from seatwise import mailing
from seatwise.clock import FixedClock
from seatwise.i18n import format_day
from seatwise.mail import worker
from seatwise.mail.models import MailMessage
from seatwise.subscriptions import service as subscriptions
from tests.conftest import T0
from tests.factories import run_billing, world


def _pass(uow, at: datetime) -> None:
    worker.run_once(uow.url, clock=FixedClock(at), render=mailing.render_attachment, prepare=mailing.tell_reminders)


def _told(uow) -> Counter:
    with uow() as s:
        return Counter((m.kind, m.to_address) for m in s.scalars(select(MailMessage)))


def test_r27_recurring_billing_off_and_a_coming_deletion_are_told_7_days_before_once(uow, monkeypatch):
    monkeypatch.delenv("SEATWISE_SMTP_URL", raising=False)
    with uow() as s:
        w = world(s, now=T0, users=0, locale="nl", name="Fabrikam")
        lapsing = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=2, actor=w.billing_admin, now=T0)
        subscriptions.set_recurring_billing(s, sub_id=lapsing.id, enabled=False, actor=w.billing_admin, now=T0)
    run_billing(uow, as_of=T0 + timedelta(hours=15))
    admins = ["global_admin@fabrikam.example", "billing_admin@fabrikam.example"]
    before = _told(uow)
    end = datetime(2026, 12, 1, tzinfo=UTC)  # the period of 1 November ends; it then expires (recurring off)
    for at in (end - timedelta(days=8), end - timedelta(days=7, hours=-9), end - timedelta(days=7, hours=-20)):
        _pass(uow, at)  # the day before it, then twice on the day: one reminder
    assert _told(uow) - before == Counter({("expiring", to): 1 for to in admins})
    with uow() as s:
        [text] = {m.text for m in s.scalars(select(MailMessage).where(MailMessage.kind == "expiring"))}
    assert format_day(end, "nl") in text
    run_billing(uow, as_of=end)  # expired; deleted 90 days on
    with uow() as s:
        deleted_on = subscriptions.get(s, sub_id=lapsing.id).state_until
    before = _told(uow)
    for at in (deleted_on - timedelta(days=8), deleted_on - timedelta(days=7), deleted_on - timedelta(days=6)):
        run_billing(uow, as_of=at)
        _pass(uow, at)
    assert _told(uow) - before == Counter({("deletion_soon", to): 1 for to in admins})
