"""Sending one webhook request: resolve the host, vet every address (`core.egress`), connect to a vetted
address itself, and send the host name only as the Host header and TLS server name. Redirects are
never followed, so nothing but the vetted address is ever contacted."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from seatwise import config
from seatwise.core import egress
from seatwise.core.errors import BadInput, ErrorCode

RESOLVE_SECONDS = 3.0  # a name the resolver cannot answer within this does not resolve, for this attempt
CONNECT_SECONDS = 3.0  # a host that does not accept within this is down
# The whole attempt (resolve, connect, send, answer) ends by then, however slowly the endpoint trickles,
# well inside the delivery's lease (webhooks.service.LEASE).
TOTAL_SECONDS = 8.0

Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve_within(resolver: Resolver, host: str, port: int, seconds: float) -> list[str]:
    """The resolver's answer if it comes within `seconds`, else OSError."""
    # getaddrinfo takes no timeout: it runs in a thread of its own, left to finish (and be forgotten) if
    # it is slow, so that the attempt's thread keeps its deadline and its lease.
    answer: list[list[str] | BaseException] = []

    def run() -> None:
        try:
            answer.append(resolver(host, port))
        except (OSError, UnicodeError) as exc:  # UnicodeError: a label the IDNA codec refuses
            answer.append(exc)

    thread = threading.Thread(target=run, name="seatwise-resolve", daemon=True)
    thread.start()
    thread.join(seconds)
    if not answer:
        raise OSError(f"no answer from the resolver within {seconds:g} s")
    if isinstance(answer[0], BaseException):
        raise OSError(str(answer[0]) or type(answer[0]).__name__)
    return answer[0]


@dataclass(frozen=True)
class Answer:
    """How an endpoint answered one attempt: an HTTP status, or the error that kept it from answering."""

    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _Pinned(http.client.HTTPConnection):
    """An HTTP(S) connection to one vetted address, whatever the host name would resolve to now."""

    def __init__(self, where: egress.Target, address: str, tls: ssl.SSLContext | None, deadline: float):
        super().__init__(where.host, where.port, timeout=CONNECT_SECONDS)
        self._address, self._tls, self._deadline = address, tls, deadline

    def connect(self) -> None:
        left = max(0.1, self._deadline - time.monotonic())
        sock = socket.create_connection((self._address, self.port), timeout=min(CONNECT_SECONDS, left))
        try:
            sock.settimeout(max(0.1, self._deadline - time.monotonic()))
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


@dataclass(frozen=True)
class Poster:
    """POSTs a webhook under an egress policy; any 2xx is a delivery, anything else a failed attempt."""

    allow: egress.Allow = egress.NOTHING_ALLOWED
    resolver: Resolver = resolve
    tls: ssl.SSLContext = field(default_factory=ssl.create_default_context)

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        deadline = time.monotonic() + TOTAL_SECONDS
        try:
            where = egress.target(url)
        except BadInput as exc:
            return Answer(None, exc.message)
        try:
            addresses = [where.address] if where.address is not None else self._resolve(where)
        except OSError as exc:
            return Answer(None, f"{where.host} does not resolve: {exc}"[:500])
        for address in addresses:
            why = egress.check_address(where, address, self.allow)
            if why is not None:  # one forbidden address is enough: it is what the name may answer next
                return Answer(None, f"{ErrorCode.WEBHOOK_URL_NOT_ALLOWED}: {why}; nothing was sent")
        return self._send(where, str(addresses[0]), body, headers, deadline)

    def _resolve(self, where: egress.Target) -> list[egress.Address]:
        answered = resolve_within(self.resolver, where.host, where.port, RESOLVE_SECONDS)
        found = [egress.parse_address(a.split("%", 1)[0]) for a in answered]
        addresses = [a for a in found if a is not None]
        if not addresses:
            raise OSError("no address")
        return addresses

    def _send(
        self, where: egress.Target, address: str, body: bytes, headers: dict[str, str], deadline: float
    ) -> Answer:
        conn = _Pinned(where, address, self.tls if where.scheme == "https" else None, deadline)
        # A watchdog ends the attempt at the deadline even while the endpoint trickles its answer.
        watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _shut, args=(conn,))
        watchdog.daemon = True
        watchdog.start()
        try:
            conn.request("POST", where.path, body=body, headers={**headers, "host": where.host_header})
            response = conn.getresponse()
            status = response.status
        except (OSError, http.client.HTTPException, ValueError) as exc:
            late = time.monotonic() >= deadline - 0.05
            return Answer(
                None, f"timed out after {TOTAL_SECONDS:g} s" if late else (str(exc) or type(exc).__name__)[:500]
            )
        finally:
            watchdog.cancel()
            conn.close()
        if 300 <= status < 400:
            location = response.getheader("location", "")[:200]
            return Answer(status, f"HTTP {status}: redirects are not followed (to {location!r})")
        return Answer(status, None if 200 <= status < 300 else f"HTTP {status}")


def _shut(conn: http.client.HTTPConnection) -> None:
    sock = conn.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST under this installation's policy (SEATWISE_WEBHOOK_ALLOW)."""
    return Poster(allow=config.webhook_allow())(url, body, headers)
