"""Sign-in throttling (OWASP ASVS 2.2.1) that strangers cannot turn against an account's owner.

Wrong passwords are counted under three keys: an address from one client (the pair), one client across
every address, and one address from every client. The pair and the client wait longer after each wrong
password beyond a few free ones; the address on its own never makes anyone wait. Only when it is under
attack (many wrong passwords within an hour) does a client that already failed for it lose its free tries,
so that a correct password from a client with a clean record always gets through.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Scope(StrEnum):
    """What a count of wrong passwords is kept for."""

    PAIR = "pair"  # one address from one client
    CLIENT = "client"  # one client, every address (and both namespaces)
    ACCOUNT = "account"  # one address, every client


@dataclass(frozen=True, slots=True)
class Failures:
    """Wrong passwords counted under one key since `since`, the last one at `last_at`."""

    count: int = 0
    since: datetime | None = None
    last_at: datetime | None = None

    def current(self, now: datetime, *, window: timedelta) -> Failures:
        """The count as it stands at `now`: it starts again once `window` has passed since it began."""
        if self.since is None or now - self.since >= window:
            return Failures()
        return self

    def after_failure(self, now: datetime, *, window: timedelta) -> Failures:
        """The count after one more wrong password at `now`."""
        current = self.current(now, window=window)
        return Failures(current.count + 1, current.since or now, now)


@dataclass(frozen=True, slots=True)
class Backoff:
    """`free` wrong passwords cost nothing; each one after makes the next try wait twice as long, up to `cap`."""

    free: int
    first: timedelta
    cap: timedelta
    window: timedelta

    def retry_at(self, failures: Failures, *, free: int | None = None) -> datetime | None:
        """When the next try may come after these failures (None: at once)."""
        free = self.free if free is None else free
        if failures.last_at is None or failures.count < free:
            return None
        wait: timedelta = min(self.first * 2 ** min(failures.count - free, 30), self.cap)
        return failures.last_at + wait


# 5 free, then 1, 2, 4, 8 and 15 minutes: about a hundred guesses a day at one address from one client.
PAIR = Backoff(free=5, first=timedelta(minutes=1), cap=timedelta(minutes=15), window=timedelta(hours=24))
# 20 free across every address, then 1 minute doubling up to an hour: spraying one password over many
# addresses from one client gets about fifty guesses a day.
CLIENT = Backoff(free=20, first=timedelta(minutes=1), cap=timedelta(hours=1), window=timedelta(hours=24))
# ASVS 2.2.1's figure: more than 100 wrong passwords for one address within an hour is an attack on it.
ATTACK = 100
ACCOUNT_WINDOW = timedelta(hours=1)
# No count lives longer than its window: rows whose count began longer ago than this are purged.
FORGET = max(PAIR.window, CLIENT.window, ACCOUNT_WINDOW)


def window_of(scope: Scope) -> timedelta:
    """How long a count of this scope lasts once begun."""
    return {Scope.PAIR: PAIR.window, Scope.CLIENT: CLIENT.window, Scope.ACCOUNT: ACCOUNT_WINDOW}[scope]


@dataclass(frozen=True, slots=True)
class Throttle:
    """A try refused before the password is checked: which count refused it, and when to try again."""

    scope: Scope
    retry_at: datetime


def throttle(*, pair: Failures, client: Failures, account: Failures, now: datetime) -> Throttle | None:
    """Whether a try for this address from this client must wait, and until when; None lets it through.

    The address's own count only takes the free tries away from a client that already failed for it: a
    client with no wrong password for this address is never held up by what other clients did.
    """
    pair = pair.current(now, window=PAIR.window)
    client = client.current(now, window=CLIENT.window)
    account = account.current(now, window=ACCOUNT_WINDOW)
    under_attack = account.count >= ATTACK
    waits = [
        (
            Scope.ACCOUNT if under_attack and pair.count < PAIR.free else Scope.PAIR,
            PAIR.retry_at(pair, free=1 if under_attack else None),
        ),
        (Scope.CLIENT, CLIENT.retry_at(client)),
    ]
    due = [(at, scope) for scope, at in waits if at is not None and at > now]
    if not due:
        return None
    at, scope = max(due)
    return Throttle(scope, at)


def client_address(*, peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[IPNetwork]) -> str:
    """The client a request comes from: the TCP peer, or, when the peer is a trusted proxy, the right-most
    address of X-Forwarded-For that is not a trusted proxy (those to its left could be made up by anyone)."""
    current = _address(peer)
    if current is None:
        return (peer or "unknown")[:64]
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    while _trusted(current, trusted) and hops:
        hop = _address(hops.pop())
        if hop is None:  # a malformed entry: the proxy that handed it on is the last one known
            break
        current = hop
    return _key(current)


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = (text or "").strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 192.0.2.1:443
        text = text.split(":")[0]
    try:
        address = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: Sequence[IPNetwork]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)


def _key(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    # One IPv6 subscriber gets a whole /64: counting its addresses one by one would give it 2**64 clients.
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def trusted_proxies(text: str) -> tuple[IPNetwork, ...]:
    """The networks of SEATWISE_TRUSTED_PROXIES (addresses or CIDRs, comma-separated); ValueError names a bad one."""
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not an address or CIDR") from None
    return tuple(networks)
