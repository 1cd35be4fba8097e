"""R27 in the operator console: "Sent mail" lists every message (kept by the embedded default, sent, failed),
and a message's page shows its text and its HTML as source, never as markup of the console."""

from __future__ import annotations

import socket
from datetime import timedelta

from seatwise.mail import service as mail
from seatwise.mail import worker
from seatwise.mail.service import Recipient
from tests.conftest import T0
from tests.mail.smtp import Receiver, smtp_server


def test_r27_the_operator_console_lists_kept_mail_and_shows_a_message_escaped(site, uow, monkeypatch):
    monkeypatch.delenv("SEATWISE_SMTP_URL", raising=False)
    with uow() as s:
        mail.queue(
            s,
            org_id=site.fabrikam.org_id,
            kind="invoice.issued",
            key="invoice.issued:1",
            to=[Recipient("jan@fabrikam.example", "Jan de Vries", "nl")],
            subject="Factuur INV-1 voor Fabrikam",
            text="Uw factuur staat klaar.",
            html='<p>Klaar</p><script>alert("mail")</script>',
            attachments=[{"document": "invoice", "id": 1, "format": "pdf"}],
            at=T0,
        )
    assert worker.run_once(site.url, clock=site.clock)["kept"] == 1
    operator = site.signed_in("operator@seatwise.example", operator=True)

    listed = operator.get("/operator/mail")
    assert listed.status_code == 200
    assert 'href="/operator/mail" aria-current="page"' in listed.text and "Sent mail" in listed.text
    assert "jan@fabrikam.example" in listed.text and "Factuur INV-1 voor Fabrikam" in listed.text
    assert '<tr data-status="kept">' in listed.text and "Kept" in listed.text
    assert "2026-11-01 09:30" in listed.text
    assert "Factuur INV-1" not in operator.get("/operator/mail?status=sent").text

    shown = operator.get("/operator/mail/1")
    assert shown.status_code == 200
    assert "Uw factuur staat klaar." in shown.text
    assert "&lt;script&gt;alert(&#34;mail&#34;)&lt;/script&gt;" in shown.text
    assert "<script>alert" not in shown.text
    assert operator.get("/operator/mail/99").status_code == 404

    dutch = operator.get("/operator/mail", headers={"Accept-Language": "nl"})
    assert "Verzonden e-mail" in dutch.text and "Bewaard" in dutch.text and "Ontvanger" in dutch.text


def test_r27_sent_mail_is_the_operators_only(site):
    admin = site.signed_in("global_admin@contoso.example")
    assert admin.get("/operator/mail").status_code in (303, 401, 403)


def test_r27_a_refusing_a_greylisting_and_a_down_server_each_show_in_the_operator_console(site, uow, monkeypatch):
    def queue(key: str) -> None:
        with uow() as s:
            mail.queue(
                s,
                org_id=site.contoso.org_id,
                kind="invoice.issued",
                key=key,
                to=[Recipient(f"{key}@contoso.example", None, "en")],
                subject=f"Invoice {key}",
                text="Your invoice is ready.",
                at=site.clock.at,
            )

    def send(url: str, at) -> None:
        monkeypatch.setenv("SEATWISE_SMTP_URL", url)
        site.clock.at = at
        worker.run_once(site.url, clock=site.clock)

    refusing = Receiver(refuse="550 5.7.1 Message rejected as spam", refusals=99)
    greylisting = Receiver(refuse="451 4.7.1 Greylisted, try again later", refusals=1)
    with smtp_server(refusing) as refuses, smtp_server(greylisting) as greylists:
        queue("refused")
        send(refuses, T0)
        queue("greylisted")
        send(greylists, T0)  # 451: retried in a minute
        operator = site.signed_in("operator@seatwise.example", operator=True)
        listed = operator.get("/operator/mail").text
        assert "Failed: 550 5.7.1 Message rejected as spam" in listed
        assert "451 4.7.1 Greylisted, try again later" in listed
        send(greylists, T0 + timedelta(minutes=1))
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        down = f"smtp://127.0.0.1:{closed.getsockname()[1]}"
    queue("down")
    for hours in range(0, 30, 5):  # retried through the day, then given up
        send(down, T0 + timedelta(minutes=1, hours=hours))
    with uow() as s:
        found = {m.to_address.split("@")[0]: m for m in mail.list_messages(s, limit=10)}
    assert {key: m.status for key, m in found.items()} == {"refused": "failed", "greylisted": "sent", "down": "failed"}
    assert found["down"].attempts > 3 and "refused" in (found["down"].last_error or "").lower()
    operator = site.signed_in("operator@seatwise.example", operator=True)  # a day on: a new session
    page = operator.get(f"/operator/mail/{found['down'].id}").text
    assert "Last error" in page and str(found["down"].attempts) in page
    listed = operator.get("/operator/mail").text
    assert listed.count('<tr data-status="failed">') == 2 and listed.count('<tr data-status="sent">') == 1
