"""Sign-in throttling as a pure rule: per client and address with backoff, never a lock-out by strangers."""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta

import pytest

from seatwise.core.signin import (
    ACCOUNT_WINDOW,
    ATTACK,
    CLIENT,
    PAIR,
    Failures,
    Scope,
    client_address,
    throttle,
    trusted_proxies,
)
from tests.conftest import T0

NONE = Failures()


def failed(times: int, *, at=T0, window=PAIR.window) -> Failures:
    """`times` wrong passwords, the last one at `at`."""
    f = NONE
    for _ in range(times):
        f = f.after_failure(at, window=window)
    return f


def test_five_wrong_passwords_from_one_client_are_free_then_each_waits_twice_as_long_up_to_15_minutes():
    for n in range(PAIR.free):
        assert throttle(pair=failed(n), client=failed(n), account=failed(n), now=T0) is None
    waits = []
    for n in range(PAIR.free, PAIR.free + 6):
        t = throttle(pair=failed(n), client=failed(n), account=failed(n), now=T0)
        assert t is not None and t.scope == Scope.PAIR
        waits.append(t.retry_at - T0)
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8, 15, 15)]
    later = T0 + timedelta(minutes=1)
    assert throttle(pair=failed(5), client=failed(5), account=failed(5), now=later) is None


def test_the_throttle_of_one_client_never_holds_up_another_client_with_a_clean_record():
    """The finding: five anonymous wrong passwords locked the owner out for 15 minutes, again and again."""
    stranger = failed(50)
    account = failed(50, window=ACCOUNT_WINDOW)
    assert throttle(pair=stranger, client=stranger, account=account, now=T0) is not None
    assert throttle(pair=NONE, client=NONE, account=account, now=T0) is None


def test_an_address_under_attack_takes_the_free_tries_from_clients_that_failed_for_it_only():
    attacked = failed(ATTACK, window=ACCOUNT_WINDOW)
    one_miss = failed(1)
    t = throttle(pair=one_miss, client=one_miss, account=attacked, now=T0)
    assert t is not None and (t.scope, t.retry_at) == (Scope.ACCOUNT, T0 + timedelta(minutes=1))
    assert throttle(pair=NONE, client=NONE, account=attacked, now=T0) is None
    calm = failed(ATTACK - 1, window=ACCOUNT_WINDOW)
    assert throttle(pair=one_miss, client=one_miss, account=calm, now=T0) is None


def test_an_attack_on_an_address_is_forgotten_an_hour_after_it_began():
    attacked = failed(ATTACK, window=ACCOUNT_WINDOW)
    assert throttle(pair=failed(1), client=failed(1), account=attacked, now=T0 + ACCOUNT_WINDOW) is None


def test_one_client_spraying_one_password_over_many_addresses_waits_after_twenty():
    sprayer = failed(CLIENT.free, window=CLIENT.window)
    assert throttle(pair=NONE, client=failed(CLIENT.free - 1), account=NONE, now=T0) is None
    t = throttle(pair=NONE, client=sprayer, account=NONE, now=T0)
    assert t is not None and (t.scope, t.retry_at) == (Scope.CLIENT, T0 + timedelta(minutes=1))
    capped = throttle(pair=NONE, client=failed(CLIENT.free + 30, window=CLIENT.window), account=NONE, now=T0)
    assert capped is not None and capped.retry_at == T0 + CLIENT.cap


def test_a_count_starts_again_a_day_after_it_began():
    old = failed(12)
    assert throttle(pair=old, client=old, account=NONE, now=T0 + PAIR.window) is None
    assert old.after_failure(T0 + PAIR.window, window=PAIR.window) == Failures(1, T0 + PAIR.window, T0 + PAIR.window)


def test_the_longest_wait_of_the_pair_and_the_client_is_the_one_answered():
    t = throttle(pair=failed(9), client=failed(CLIENT.free + 1), account=NONE, now=T0)
    assert t is not None and (t.scope, t.retry_at) == (Scope.PAIR, T0 + timedelta(minutes=15))


PROXIES = trusted_proxies("10.0.0.0/8, 192.0.2.7")


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("198.51.100.9", ["203.0.113.5"], "198.51.100.9"),  # not a trusted proxy: its header is anyone's words
        ("192.0.2.7", ["203.0.113.5"], "203.0.113.5"),
        ("192.0.2.7", ["1.2.3.4, 203.0.113.5"], "203.0.113.5"),  # the left-most entry is made up by the client
        ("192.0.2.7", ["1.2.3.4, 203.0.113.5, 10.1.1.1"], "203.0.113.5"),  # the right-most untrusted hop
        ("192.0.2.7", ["1.2.3.4", "203.0.113.5"], "203.0.113.5"),  # several headers read as one list
        ("192.0.2.7", [], "192.0.2.7"),
        ("192.0.2.7", ["10.1.1.1, 10.2.2.2"], "10.1.1.1"),  # only proxies: the farthest one
        ("192.0.2.7", ["garbage, 10.1.1.1"], "10.1.1.1"),  # a malformed entry: the proxy that handed it on
        ("192.0.2.7", ["[2001:db8:1:2::99]:443"], "2001:db8:1:2::/64"),  # IPv6 by its /64
        ("::ffff:192.0.2.7", ["203.0.113.5:5000"], "203.0.113.5"),  # an IPv4-mapped peer is that IPv4 address
        ("testclient", ["203.0.113.5"], "testclient"),
    ],
)
def test_the_client_address_comes_from_x_forwarded_for_only_behind_a_trusted_proxy(peer, forwarded, client):
    assert client_address(peer=peer, forwarded_for=forwarded, trusted=PROXIES) == client


def test_without_trusted_proxies_x_forwarded_for_is_never_read():
    assert client_address(peer="127.0.0.1", forwarded_for=["203.0.113.5"], trusted=()) == "127.0.0.1"


def test_trusted_proxies_are_addresses_or_cidrs_and_a_bad_one_is_named():
    assert trusted_proxies(" 127.0.0.1, ::1,10.0.0.0/8 ,") == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("::1/128"),
        ipaddress.ip_network("10.0.0.0/8"),
    )
    with pytest.raises(ValueError, match=re.escape("'10.0.0.0/33' is not an address or CIDR")):
        trusted_proxies("127.0.0.1,10.0.0.0/33")
