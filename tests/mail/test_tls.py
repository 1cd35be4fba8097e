"""R27 delivery over TLS with a login: STARTTLS on a submission port and TLS from the first byte (smtps://), against
a real aiosmtpd server on 127.0.0.1 that refuses to accept mail before both, with a certificate made for the test
and trusted through SSL_CERT_FILE, as an operator would trust their own CA."""

from __future__ import annotations

import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from seatwise.clock import FixedClock
from seatwise.mail import service as mail
from seatwise.mail import worker
from seatwise.mail.service import Recipient
from tests.conftest import T0
from tests.mail.smtp import Receiver
from tests.processes import free_port


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and its key."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"billing", b"s3cret")
    return AuthResult(success=ok)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # smtps: TLS from the first byte
@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
def test_r27_mail_goes_over_tls_with_a_login_to_a_server_that_demands_both(
    uow, db_url, certificate, monkeypatch, scheme
):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    receiver, port = Receiver(), free_port()
    # aiosmtpd does not count TLS from the first byte as TLS for AUTH; STARTTLS it does
    tls = (
        {"ssl_context": context, "auth_require_tls": False}
        if scheme == "smtps"
        else {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
    )
    controller = Controller(
        receiver,
        hostname="127.0.0.1",
        port=port,
        authenticator=_login,
        auth_required=True,
        **tls,
    )
    controller.start()
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        monkeypatch.setenv("SEATWISE_SMTP_URL", f"{scheme}://billing:s3cret@127.0.0.1:{port}")
        with uow() as s:
            mail.queue(
                s,
                org_id=None,
                kind="invoice_issued",
                key="tls",
                to=[Recipient("ap@contoso.example", None, "en")],
                subject="Invoice SW-2026-000001",
                text="Your invoice is ready.",
                at=T0,
            )
        done = worker.run_once(db_url, clock=FixedClock(T0))
        with uow() as s:
            errors = [m.last_error for m in mail.list_messages(s, limit=5)]
        assert done["sent"] == 1, errors
    finally:
        controller.stop()
    assert [m["Subject"] for m in receiver.received] == ["Invoice SW-2026-000001"]
    assert receiver.envelopes == [("billing@seatwise.invalid", ["ap@contoso.example"])]
