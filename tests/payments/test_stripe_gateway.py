"""The Stripe gateway against a real localstripe process on 127.0.0.1 (R21, R32)."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from seatwise.core.cards import Card
from seatwise.core.errors import BadInput, ErrorCode, SeatwiseError
from seatwise.core.money import Money
from seatwise.payments.gateway import GatewayUnavailable, KeyReused, Outcome
from seatwise.payments.gateways import gateway_for
from seatwise.payments.stripe_gateway import KEY_FIELD, StripeGateway, failure_code
from tests.localstripe import TEST_KEY, flush
from tests.processes import free_port

# One worker runs them all: they share one localstripe and flush it.
pytestmark = pytest.mark.xdist_group("localstripe")

VISA = Card("4242424242424242", 12, 2030)
DECLINED_AT_CHARGE = Card("4000000000000341", 12, 2030)
DECLINED_WHEN_SAVED = Card("4000000000000002", 12, 2030)
EUR_12_50 = Money(1250, "EUR")


@pytest.fixture
def url(localstripe: str) -> str:
    flush(localstripe)
    return localstripe


@pytest.fixture
def gateway(url: str) -> StripeGateway:
    return StripeGateway(TEST_KEY, api_base=url)


@pytest.fixture
def stripe_api(url: str) -> stripe.StripeClient:
    """Stripe's own client on localstripe, to see what the gateway left there."""
    return stripe.StripeClient(TEST_KEY, base_addresses={"api": url})


def intents_with_key(api: stripe.StripeClient, key: str) -> list[stripe.PaymentIntent]:
    every = api.v1.payment_intents.list({"limit": 100}).auto_paging_iter()
    return [pi for pi in every if pi.metadata is not None and pi.metadata.to_dict().get(KEY_FIELD) == key]


def test_r21_4242_is_saved_and_charged_with_its_amount_and_currency(gateway, stripe_api):
    saved = gateway.save_card(org_id=7, customer=None, card=VISA, payment_method=None)
    assert (saved.brand, saved.last4, saved.exp_month, saved.exp_year) == ("visa", "4242", 12, 2030)
    assert saved.token.startswith("pm_") and saved.customer.startswith("cus_")
    assert stripe_api.v1.customers.retrieve(saved.customer).metadata.to_dict() == {"seatwise_org": "7"}
    assert stripe_api.v1.payment_methods.retrieve(saved.token).customer == saved.customer

    outcome = gateway.charge(
        customer=saved.customer,
        token=saved.token,
        amount=EUR_12_50,
        key="org7/2026-11-01/1",
        metadata={"invoice": "F1"},
    )

    assert outcome.succeeded and outcome.failure_code is None
    pi = stripe_api.v1.payment_intents.retrieve(outcome.reference)
    assert (pi.status, pi.amount, pi.currency, pi.customer, pi.payment_method) == (
        "succeeded",
        1250,
        "eur",
        saved.customer,
        saved.token,
    )
    assert pi.metadata.to_dict() == {"invoice": "F1", KEY_FIELD: "org7/2026-11-01/1"}


def test_r21_0341_is_saved_then_declined_at_charge_softly(gateway, stripe_api):
    saved = gateway.save_card(org_id=7, customer=None, card=DECLINED_AT_CHARGE, payment_method=None)
    assert saved.last4 == "0341"

    outcome = gateway.charge(customer=saved.customer, token=saved.token, amount=EUR_12_50, key="k-0341", metadata={})

    assert (outcome.succeeded, outcome.failure_code, outcome.hard) == (False, "declined", False)
    assert outcome.reference is not None
    pi = stripe_api.v1.payment_intents.retrieve(outcome.reference)
    assert pi.status == "requires_payment_method" and pi.last_payment_error is not None


def test_r21_0002_is_refused_when_saved_with_card_declined(gateway):
    with pytest.raises(BadInput) as refused:
        gateway.save_card(org_id=7, customer=None, card=DECLINED_WHEN_SAVED, payment_method=None)
    assert refused.value.code == ErrorCode.CARD_DECLINED
    assert "\n" not in refused.value.message and "declined" in refused.value.message
    assert DECLINED_WHEN_SAVED.number not in refused.value.message


def test_r32_a_charge_whose_answer_was_lost_makes_one_payment_intent(gateway, stripe_api):
    saved = gateway.save_card(org_id=7, customer=None, card=VISA, payment_method=None)
    assert gateway.find_charge(customer=saved.customer, key="org7/2026-12-01/1") is None
    charge = dict(customer=saved.customer, token=saved.token, amount=EUR_12_50, key="org7/2026-12-01/1", metadata={})

    first = gateway.charge(**charge)
    again = gateway.charge(**charge)  # the retry of a call whose answer never arrived
    found = gateway.find_charge(customer=saved.customer, key="org7/2026-12-01/1")

    assert first.succeeded and again == first and found == first
    assert [pi.id for pi in intents_with_key(stripe_api, "org7/2026-12-01/1")] == [first.reference]
    with pytest.raises(KeyReused):
        gateway.charge(**{**charge, "amount": Money(999, "EUR")})
    assert len(stripe_api.v1.payment_intents.list({"limit": 100}).data) == 1


class _LosesFirstAnswer(BaseHTTPRequestHandler):
    """Passes every request on to localstripe and its answer back, except the answer to the first POST to
    `lose` (made at localstripe all the same): the connection closes without it, as a network failure would."""

    upstream: str
    lose: str
    lost = 0

    def _pass_on(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        host, port = self.upstream.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(self.command, self.path, body=body, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        conn.close()
        if self.command == "POST" and self.path == self.lose and not type(self).lost:
            type(self).lost += 1
            self.close_connection = True  # nothing written: the client sees the connection drop
            return
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _pass_on

    def log_message(self, format, *args) -> None:  # quiet
        pass


@contextmanager
def losing_first_answer(url: str, lose: str) -> Iterator[str]:
    """A proxy before localstripe that loses the answer to the first POST to `lose`."""
    handler = type("Handler", (_LosesFirstAnswer,), {"upstream": url, "lose": lose, "lost": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_r32_a_charge_whose_answer_the_network_lost_is_looked_up_not_sent_again(url, stripe_api):
    """localstripe ignores idempotency keys, so the SDK's own retry of a POST whose answer was lost was a second
    PaymentIntent: the outcome is unknown instead (the caller's row stays pending), and its look-up finds the one."""
    saved = StripeGateway(TEST_KEY, api_base=url).save_card(org_id=7, customer=None, card=VISA, payment_method=None)
    with losing_first_answer(url, "/v1/payment_intents") as proxy:
        gateway = StripeGateway(TEST_KEY, api_base=proxy, max_network_retries=2)
        with pytest.raises(GatewayUnavailable):
            gateway.charge(
                customer=saved.customer, token=saved.token, amount=EUR_12_50, key="org7/2026-12-01/1", metadata={}
            )
        found = gateway.find_charge(customer=saved.customer, key="org7/2026-12-01/1")

    [made] = intents_with_key(stripe_api, "org7/2026-12-01/1")
    assert found == Outcome(True, made.id) and made.amount == 1250
    assert len(stripe_api.v1.payment_intents.list({"limit": 100}).data) == 1


def test_r32_a_refund_whose_answer_the_network_lost_is_looked_up_not_sent_again(url, stripe_api):
    """The same for a refund: a second Refund was money sent back twice."""
    gateway = StripeGateway(TEST_KEY, api_base=url)
    saved = gateway.save_card(org_id=7, customer=None, card=VISA, payment_method=None)
    paid = gateway.charge(customer=saved.customer, token=saved.token, amount=Money(1000, "EUR"), key="c", metadata={})
    assert paid.reference is not None
    with losing_first_answer(url, "/v1/refunds") as proxy:
        gateway = StripeGateway(TEST_KEY, api_base=proxy, max_network_retries=2)
        with pytest.raises(GatewayUnavailable):
            gateway.refund(customer=saved.customer, charge=paid.reference, amount=Money(400, "EUR"), key="r1")
        found = gateway.find_refund(customer=saved.customer, charge=paid.reference, key="r1")

    [made] = stripe_api.v1.refunds.list({"payment_intent": paid.reference, "limit": 100}).data
    assert found == Outcome(True, made.id) and made.amount == 400


def test_r32_a_repeated_declined_charge_is_looked_up_not_attempted_again(gateway, stripe_api):
    saved = gateway.save_card(org_id=7, customer=None, card=DECLINED_AT_CHARGE, payment_method=None)
    charge = dict(customer=saved.customer, token=saved.token, amount=EUR_12_50, key="org7/2026-12-01/2", metadata={})

    first = gateway.charge(**charge)
    again = gateway.charge(**charge)

    assert not first.succeeded and again == first
    assert gateway.find_charge(customer=saved.customer, key="org7/2026-12-01/2") == first
    assert len(intents_with_key(stripe_api, "org7/2026-12-01/2")) == 1


def test_r32_charges_of_two_customers_are_told_apart_by_customer_and_key(gateway):
    one = gateway.save_card(org_id=1, customer=None, card=VISA, payment_method=None)
    two = gateway.save_card(org_id=2, customer=None, card=VISA, payment_method=None)
    paid = gateway.charge(customer=one.customer, token=one.token, amount=EUR_12_50, key="same", metadata={})

    assert gateway.find_charge(customer=two.customer, key="same") is None
    other = gateway.charge(customer=two.customer, token=two.token, amount=EUR_12_50, key="same", metadata={})
    assert other.succeeded and other.reference != paid.reference


def test_r32_a_refund_is_made_once_per_key(gateway, stripe_api):
    saved = gateway.save_card(org_id=7, customer=None, card=VISA, payment_method=None)
    paid = gateway.charge(customer=saved.customer, token=saved.token, amount=Money(1000, "EUR"), key="c", metadata={})
    assert paid.reference is not None
    assert gateway.find_refund(customer=saved.customer, charge=paid.reference, key="r1") is None

    first = gateway.refund(customer=saved.customer, charge=paid.reference, amount=Money(400, "EUR"), key="r1")
    again = gateway.refund(customer=saved.customer, charge=paid.reference, amount=Money(400, "EUR"), key="r1")
    found = gateway.find_refund(customer=saved.customer, charge=paid.reference, key="r1")

    assert first.succeeded and first.reference is not None and first.reference.startswith("re_")
    assert again == first and found == first
    refunds = stripe_api.v1.refunds.list({"payment_intent": paid.reference, "limit": 100}).data
    assert [(r.id, r.amount, r.currency) for r in refunds] == [(first.reference, 400, "eur")]
    with pytest.raises(KeyReused):
        gateway.refund(customer=saved.customer, charge=paid.reference, amount=Money(300, "EUR"), key="r1")

    second = gateway.refund(customer=saved.customer, charge=paid.reference, amount=Money(300, "EUR"), key="r2")
    assert second.succeeded and second.reference != first.reference
    assert len(stripe_api.v1.refunds.list({"payment_intent": paid.reference, "limit": 100}).data) == 2


def test_r21_live_mode_refuses_typed_card_numbers_and_takes_a_payment_method_id(url, stripe_api):
    live = StripeGateway("sk_live_seatwise", api_base=url)

    with pytest.raises(BadInput) as refused:
        live.save_card(org_id=7, customer=None, card=VISA, payment_method=None)
    assert refused.value.code == ErrorCode.CARD_NUMBERS_NOT_ACCEPTED and "\n" not in refused.value.message
    assert stripe_api.v1.customers.list().data == []  # refused before anything reached Stripe

    # What Stripe's payment page or Elements would have made in the browser.
    made = stripe_api.v1.payment_methods.create(
        {"type": "card", "card": {"number": VISA.number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
    )
    saved = live.save_card(org_id=7, customer=None, card=None, payment_method=made.id)
    assert (saved.token, saved.last4) == (made.id, "4242")
    assert stripe_api.v1.payment_methods.retrieve(made.id).customer == saved.customer
    with pytest.raises(BadInput) as malformed:
        live.save_card(org_id=7, customer=saved.customer, card=None, payment_method="4242424242424242")
    assert malformed.value.code == ErrorCode.INVALID_PAYMENT_METHOD


def test_r32_an_endpoint_nobody_listens_on_raises_gateway_unavailable_quickly():
    port = free_port()  # bound and closed again: nothing listens there
    gateway = StripeGateway(TEST_KEY, api_base=f"http://127.0.0.1:{port}")

    started = time.monotonic()
    with pytest.raises(GatewayUnavailable) as unavailable:
        gateway.charge(customer="cus_x", token="pm_x", amount=EUR_12_50, key="k", metadata={})
    assert time.monotonic() - started < 5
    assert TEST_KEY not in str(unavailable.value) and "\n" not in str(unavailable.value)


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_r32_an_endpoint_that_never_answers_times_out_as_gateway_unavailable(silent_endpoint):
    gateway = StripeGateway(TEST_KEY, api_base=silent_endpoint, timeout=0.3, max_network_retries=1)

    started = time.monotonic()
    with pytest.raises(GatewayUnavailable):
        gateway.find_charge(customer="cus_x", key="k")
    assert time.monotonic() - started < 5


class _Failing(BaseHTTPRequestHandler):
    """Answers every request as Stripe does when it fails inside: 500 with an api_error."""

    def _fail(self) -> None:
        body = b'{"error": {"type": "api_error", "message": "Something went wrong on our end."}}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _fail

    def log_message(self, format, *args) -> None:  # quiet
        pass


@pytest.fixture
def failing_endpoint() -> Iterator[str]:
    """An HTTP server on 127.0.0.1 that answers every request with a 500."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_r32_an_endpoint_that_fails_inside_raises_gateway_unavailable(failing_endpoint):
    gateway = StripeGateway(TEST_KEY, api_base=failing_endpoint, max_network_retries=0)

    with pytest.raises(GatewayUnavailable, match="HTTP 500"):
        gateway.charge(customer="cus_x", token="pm_x", amount=EUR_12_50, key="k", metadata={})


def test_an_api_key_stripe_refuses_is_a_configuration_error(url):
    # localstripe refuses every key but sk_…; a restricted key stands for a revoked one.
    refused_key = "rk_test_revoked"
    gateway = StripeGateway(refused_key, api_base=url)

    with pytest.raises(SeatwiseError) as refused:
        gateway.save_card(org_id=7, customer=None, card=VISA, payment_method=None)
    assert refused.value.code == ErrorCode.INVALID_CONFIGURATION
    assert refused_key not in refused.value.message and "\n" not in refused.value.message


def test_r21_seatwise_gateway_stripe_names_the_stripe_gateway(url, monkeypatch):
    monkeypatch.setenv("SEATWISE_GATEWAY", "stripe")
    monkeypatch.setenv("STRIPE_API_KEY", TEST_KEY)
    monkeypatch.setenv("SEATWISE_STRIPE_API_BASE", url)

    gateway = gateway_for("sqlite:///unused.db")

    assert isinstance(gateway, StripeGateway) and gateway.test_mode
    assert gateway.save_card(org_id=7, customer=None, card=VISA, payment_method=None).last4 == "4242"


@pytest.mark.parametrize(
    ("decline", "code", "hard"),
    [
        ("generic_decline", "declined", False),
        ("card_declined", "declined", False),
        ("do_not_honor", "declined", False),
        (None, "declined", False),
        ("insufficient_funds", "insufficient_funds", False),
        ("expired_card", "expired_card", True),
        ("lost_card", "lost_card", True),
        ("stolen_card", "stolen_card", True),
    ],
)
def test_r21_stripe_declines_map_to_seatwise_failure_codes(decline, code, hard):
    assert failure_code(decline) == code
    assert Outcome(False, "pi_x", failure_code(decline)).hard is hard
