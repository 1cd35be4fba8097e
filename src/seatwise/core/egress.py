"""Where webhooks may be sent: which addresses are refused, and the operator's allow list.

Pure rules, no sockets: the host of a URL is normalised here (decimal, hex and octal IPv4
spellings, IPv6 forms that carry an IPv4 address) and every address is classified; the webhooks
package resolves names and connects only to an address this module let through.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from seatwise.core.errors import BadInput, ErrorCode

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_NET = ipaddress.ip_network
_CGNAT = _NET("100.64.0.0/10")
_METADATA = ipaddress.ip_address("169.254.169.254")
_RFC1918 = (_NET("10.0.0.0/8"), _NET("172.16.0.0/12"), _NET("192.168.0.0/16"))
_ULA = _NET("fc00::/7")
_6TO4 = _NET("2002::/16")
_NAT64 = (_NET("64:ff9b::/96"),)
_NAT64_LOCAL = _NET("64:ff9b:1::/48")  # RFC 8215: a network's own translator, never global
_TEREDO = _NET("2001::/32")


class NotAllowed(BadInput):
    """A webhook URL or address outside what this installation may send to."""

    code = ErrorCode.WEBHOOK_URL_NOT_ALLOWED


def parse_ipv4(text: str) -> ipaddress.IPv4Address | None:
    """An IPv4 address as inet_aton reads it (`127.1`, `0x7f000001`, `2130706433`, `0177.0.0.1`), or None."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or not all(parts):
        return None
    numbers = []
    for part in parts:
        lower = part.lower()
        try:
            if lower.startswith("0x"):
                numbers.append(int(lower[2:], 16) if lower[2:] else 0)
            elif len(lower) > 1 and lower.startswith("0"):
                numbers.append(int(lower[1:], 8))
            elif lower.isdigit():
                numbers.append(int(lower))
            else:
                return None
        except ValueError:
            return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def parse_address(host: str) -> Address | None:
    """The IP address a URL's host spells, in any form a resolver would accept, or None for a name."""
    host = host.strip("[]")
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            return None
    return parse_ipv4(host)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, 6to4, well-known NAT64, Teredo), or None."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in net for net in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    packed = int(address)
    if packed >> 32 == 0 and packed > 1:  # ::a.b.c.d, IPv4-compatible (deprecated, still routed by some stacks)
        return ipaddress.IPv4Address(packed)
    return None


def refusal(address: Address) -> str | None:
    """Why a webhook may not be sent to `address` (loopback, private…), or None if it may."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return "an IPv6 address with a zone (link-local)"
        # Before unwrapping: a local-use prefix may place the IPv4 address anywhere (RFC 6052 lets
        # a /48 carry it in bits 48-88), and the translator it names is never a public host.
        if address in _NAT64_LOCAL:
            return "a local NAT64 address"
        if address.is_site_local:  # fec0::/10, deprecated but still routed inside some networks
            return "a site-local address"
        inner = embedded_ipv4(address)
        if inner is not None:
            why = refusal(inner)
            return f"{why} (inside the IPv6 address {address})" if why else None
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address == _METADATA:
        return "the cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    if any(address in net for net in _RFC1918):
        return "a private address"
    if address in _CGNAT:
        return "a shared (CGNAT) address"
    if address.version == 6 and address in _ULA:
        return "a unique local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved or address.is_private or not address.is_global:
        return "a reserved address"
    return None


@dataclass(frozen=True)
class Allow:
    """The operator's exceptions (SEATWISE_WEBHOOK_ALLOW): host names and address ranges that webhooks
    may reach although private, and over plain http."""

    names: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    def allows_name(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.names

    def allows_address(self, address: Address) -> bool:
        inner = embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
        return any(
            a in net for a in (address, inner) if a is not None for net in self.networks if a.version == net.version
        )


NOTHING_ALLOWED = Allow()


def parse_allow(text: str) -> Allow:
    """`127.0.0.1,10.0.0.0/8,hooks.intranet`: addresses, ranges and host names, comma separated."""
    names, networks = set(), []
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        address = parse_address(entry) if "/" not in entry else None
        try:
            if address is not None:
                networks.append(_NET(address))
            elif "/" in entry:
                networks.append(_NET(entry, strict=False))
            elif entry.replace("-", "").replace(".", "").isalnum() and entry.isascii():
                names.add(entry.lower().rstrip("."))
            else:
                raise ValueError(entry)
        except ValueError:
            raise BadInput(
                f"invalid SEATWISE_WEBHOOK_ALLOW entry {entry!r}: expected an address, range or host name",
                code=ErrorCode.INVALID_CONFIGURATION,
            ) from None
    return Allow(names=frozenset(names), networks=tuple(networks))


@dataclass(frozen=True)
class Target:
    """Where a webhook URL points: scheme, host (a name, or the normalised address), port and path."""

    scheme: str
    host: str
    port: int
    path: str
    address: Address | None  # the host's address when the URL spells one

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == (443 if self.scheme == "https" else 80) else f"{name}:{self.port}"


def is_localhost(host: str) -> bool:
    """`localhost` and names under it are loopback (RFC 6761), whatever a resolver answers."""
    host = host.lower().rstrip(".")
    return host == "localhost" or host.endswith(".localhost")


def target(url: str) -> Target:
    """The parts of an http(s) URL, its host normalised; BadInput (invalid_url) if it is no such URL."""
    bad = BadInput(
        f"invalid webhook URL {url!r}: expected an http:// or https:// URL with a host", code=ErrorCode.INVALID_URL
    )
    if not url.isascii() or any(c.isspace() or not c.isprintable() for c in url):
        raise bad
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # an unclosed [ of an IPv6 address, a port that is no number or out of range
        raise bad from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad
    address = parse_address(parts.hostname)
    host = str(address) if address is not None else parts.hostname.lower()
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path, address)


def check_url(url: str, allow: Allow) -> Target:
    """The URL's target if a webhook may be registered there, else NotAllowed (or BadInput for no URL).

    Names are not resolved here (their addresses are checked at every delivery): what the URL itself
    spells is, in every spelling, and http is only for what the operator allowed."""
    where = target(url)
    allowed = allow.allows_name(where.host) or (where.address is not None and allow.allows_address(where.address))
    if not allowed:
        if where.address is not None and (why := refusal(where.address)):
            raise NotAllowed(f"webhook URL {url!r} not allowed: {where.host} is {why}; expected a public address")
        if is_localhost(where.host):
            raise NotAllowed(
                f"webhook URL {url!r} not allowed: {where.host} is a loopback name; expected a public host"
            )
        if where.scheme != "https":
            raise NotAllowed(
                f"webhook URL {url!r} not allowed: expected https:// (http only to hosts in SEATWISE_WEBHOOK_ALLOW)"
            )
    return where


def check_address(where: Target, address: Address, allow: Allow) -> str | None:
    """Why a delivery to `where` may not connect to `address` (what its host resolved to), or None."""
    if allow.allows_name(where.host) or allow.allows_address(address):
        return None
    if where.scheme != "https":
        return f"http:// to {where.host} is not allowed (only hosts in SEATWISE_WEBHOOK_ALLOW)"
    if is_localhost(where.host):
        return f"{where.host} is a loopback name"
    why = refusal(address)
    return f"{where.host} resolves to {address}, {why}" if why else None
