"""The webhook egress policy as a pure function: every spelling of a forbidden address is refused, and the
operator's allow list lets through exactly what it names. No socket is opened here."""

from __future__ import annotations

import ipaddress

import pytest

from seatwise.core import egress
from seatwise.core.errors import BadInput, ErrorCode

NOTHING = egress.NOTHING_ALLOWED

FORBIDDEN = {
    # loopback, in every spelling a resolver accepts (issue 11: 127.0.0.1, 0x7f000001, [::ffff:127.0.0.1])
    "https://127.0.0.1/": "loopback",
    "https://127.0.0.1:8000/hook": "loopback",
    "https://0x7f000001/": "loopback",
    "https://0x7F.0.0.1/": "loopback",
    "https://2130706433/": "loopback",
    "https://0177.0.0.1/": "loopback",
    "https://017700000001/": "loopback",
    "https://127.1/": "loopback",
    "https://127.0.1/": "loopback",
    "https://127.255.255.254/": "loopback",
    "https://[::1]/": "loopback",
    "https://[0:0:0:0:0:0:0:1]/": "loopback",
    "https://[::ffff:127.0.0.1]/": "loopback",
    "https://[::ffff:7f00:1]/": "loopback",
    "https://[::127.0.0.1]/": "loopback",  # IPv4-compatible
    "https://[2002:7f00:1::]/": "loopback",  # 6to4
    "https://[64:ff9b::127.0.0.1]/": "loopback",  # NAT64
    "https://[64:ff9b::7f00:1]/": "loopback",
    "https://localhost/": "loopback name",
    "https://localhost:5432/": "loopback name",
    "https://LOCALHOST./": "loopback name",
    "https://db.localhost/": "loopback name",
    # the metadata address and link-local
    "https://169.254.169.254/latest/meta-data/": "metadata",
    "https://0xa9fea9fe/": "metadata",
    "https://2852039166/": "metadata",
    "https://[::ffff:169.254.169.254]/": "metadata",
    "https://169.254.1.1/": "link-local",
    "https://[fe80::1]/": "link-local",
    "https://[fe80::1%25eth0]/": "link-local",
    # RFC 1918, in several spellings
    "https://10.0.0.1/": "private",
    "https://10.1/": "private",
    "https://012.0.0.1/": "private",
    "https://0xa000001/": "private",
    "https://167772161/": "private",
    "https://172.16.0.1/": "private",
    "https://172.31.255.255/": "private",
    "https://192.168.1.1/": "private",
    "https://[::ffff:10.0.0.1]/": "private",
    "https://[::ffff:a00:1]/": "private",
    "https://[2002:c0a8:101::1]/": "private",  # 6to4 of 192.168.1.1
    # CGNAT, ULA, multicast, unspecified, reserved
    "https://100.64.0.1/": "CGNAT",
    "https://100.127.255.255/": "CGNAT",
    "https://[fc00::1]/": "unique local",
    "https://[fd12:3456::1]/": "unique local",
    "https://224.0.0.1/": "multicast",
    "https://239.255.255.250/": "multicast",
    "https://[ff02::1]/": "multicast",
    "https://0.0.0.0/": "unspecified",
    "https://0/": "unspecified",
    "https://[::]/": "unspecified",
    "https://240.0.0.1/": "reserved",
    "https://255.255.255.255/": "reserved",
    "https://192.0.2.1/": "reserved",  # documentation
    "https://198.18.0.1/": "reserved",  # benchmarking
    "https://[2001:db8::1]/": "reserved",
    # local-use NAT64 (RFC 8215) is refused whole, wherever a /48 prefix would place the IPv4 address
    "https://[64:ff9b:1::a00:1]/": "NAT64",
    "https://[64:ff9b:1::808:808]/": "NAT64",  # 8.8.8.8 in the low bits: still never global
    "https://[64:ff9b:1:7f00:1::808:808]/": "NAT64",  # 127.0.0.1 in bits 48-88 (RFC 6052 /48)
    "https://[fec0::1]/": "site-local",  # deprecated site-local fec0::/10
}


@pytest.mark.parametrize("url", sorted(FORBIDDEN))
def test_every_spelling_of_a_forbidden_address_is_refused_with_webhook_url_not_allowed(url):
    with pytest.raises(egress.NotAllowed) as refused:
        egress.check_url(url, NOTHING)
    assert refused.value.code is ErrorCode.WEBHOOK_URL_NOT_ALLOWED and refused.value.status == 422
    message = refused.value.message
    assert "\n" not in message and "not allowed" in message
    assert FORBIDDEN[url].split()[0].lower() in message.lower(), message


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("0x7f000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1.2", "10.1.0.2"),
        ("0xA9.0xFE.0xA9.0xFE", "169.254.169.254"),
        ("8.8.8.8", "8.8.8.8"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
    ],
)
def test_ipv4_spellings_are_normalised_as_a_resolver_reads_them(spelling, address):
    assert egress.parse_address(spelling) == ipaddress.ip_address(address)


@pytest.mark.parametrize("name", ["hooks.example", "256.0.0.1", "1.2.3.4.5", "08.0.0.1", "1..2", "4294967296"])
def test_what_is_no_address_is_left_a_name(name):
    assert egress.parse_address(name) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.contoso.example/seatwise",
        "https://93.184.216.34/hook",
        "https://[2606:4700::1111]/",
        "https://[::ffff:93.184.216.34]/",
        "https://100.128.0.1/",  # just past CGNAT
        "https://172.32.0.1/",  # just past 172.16/12
    ],
)
def test_https_to_a_public_address_or_name_is_allowed(url):
    assert egress.check_url(url, NOTHING).scheme == "https"


def test_plain_http_is_refused_unless_the_operator_allows_the_host():
    for url in ("http://hooks.contoso.example/x", "http://93.184.216.34/x"):
        with pytest.raises(egress.NotAllowed, match="expected https://"):
            egress.check_url(url, NOTHING)
    allow = egress.parse_allow("hooks.contoso.example, 93.184.216.0/24")
    assert egress.check_url("http://hooks.contoso.example/x", allow).port == 80
    assert egress.check_url("http://93.184.216.34:8080/x", allow).port == 8080
    with pytest.raises(egress.NotAllowed):
        egress.check_url("http://other.example/x", allow)


def test_the_allow_list_names_hosts_and_ranges_and_nothing_else():
    allow = egress.parse_allow("127.0.0.1,10.0.0.0/8,hooks.intranet")
    for url in (
        "http://127.0.0.1:8000/",
        "http://0x7f000001/",
        "http://[::ffff:127.0.0.1]/",
        "https://10.200.0.3/",
        "http://Hooks.Intranet./x",
    ):
        assert egress.check_url(url, allow) is not None, url
    for url in ("https://127.0.0.2/", "https://169.254.169.254/", "https://192.168.0.1/", "https://localhost/"):
        with pytest.raises(egress.NotAllowed):
            egress.check_url(url, allow)


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "hooks intranet", "a,b/c", "http://x"])
def test_a_malformed_allow_entry_is_a_configuration_error(entry):
    with pytest.raises(BadInput) as bad:
        egress.parse_allow(entry)
    assert bad.value.code is ErrorCode.INVALID_CONFIGURATION and "SEATWISE_WEBHOOK_ALLOW" in bad.value.message


def test_at_delivery_the_resolved_address_is_what_is_checked():
    """DNS rebinding: a public name that answers 127.0.0.1 is refused on the address it resolved to."""
    where = egress.check_url("https://rebind.example/hook", NOTHING)
    assert egress.check_address(where, ipaddress.ip_address("127.0.0.1"), NOTHING) is not None
    assert egress.check_address(where, ipaddress.ip_address("::ffff:169.254.169.254"), NOTHING) is not None
    assert egress.check_address(where, ipaddress.ip_address("93.184.216.34"), NOTHING) is None
    allowed = egress.parse_allow("rebind.example")
    assert egress.check_address(where, ipaddress.ip_address("10.0.0.1"), allowed) is None


def test_not_a_url_stays_invalid_url():
    for url in ("ftp://x.example/", "http://", "http://[::1", "https://x.example:99999/"):
        with pytest.raises(BadInput) as bad:
            egress.check_url(url, NOTHING)
        assert bad.value.code is ErrorCode.INVALID_URL


def test_the_host_header_keeps_the_name_and_a_port_that_is_not_the_default():
    assert egress.target("https://hooks.example/x?a=1").host_header == "hooks.example"
    assert egress.target("https://hooks.example:8443/x").host_header == "hooks.example:8443"
    assert egress.target("http://[2606:4700::1111]:81/").host_header == "[2606:4700::1111]:81"
    assert egress.target("https://hooks.example/x?a=1").path == "/x?a=1"
