"""R27 in the operator console: "Sent mail" lists every message (kept by the embedded default, sent, failed),
and a message's page shows its text and its HTML as source, never as markup of the console."""

from __future__ import annotations

from seatwise.mail import service as mail
from seatwise.mail import worker
from seatwise.mail.service import Recipient
from tests.conftest import T0


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
