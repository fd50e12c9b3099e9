"""`service/_hosts.py`: which `Host` headers the monitor answers (a defence against DNS
rebinding), as a table of the pure `served()`."""

from __future__ import annotations

import pytest

from ionq_backends.service._hosts import served

PROXY = frozenset({"monitor.example.com"})


@pytest.mark.parametrize(
    ("host", "local", "allowed", "answered"),
    [
        ("192.0.2.7:8080", "192.0.2.7", frozenset(), True),  # --host 0.0.0.0, reached by IP
        ("192.0.2.8:8080", "192.0.2.7", frozenset(), False),
        ("[2001:db8::1]:80", "2001:db8::1", frozenset(), True),
        ("localhost:8080", None, frozenset(), True),
        ("127.0.0.1", None, frozenset(), True),
        ("MONITOR.Example.com.", None, PROXY, True),  # any case, a trailing dot
        ("monitor.example.com:443", "10.0.0.5", PROXY, True),
        ("evil.example", "10.0.0.5", PROXY, False),
        ("xxxx", None, frozenset(), False),  # no local address: nothing matches it
        ("", "10.0.0.5", PROXY, False),
        ("[broken", None, PROXY, False),
    ],
)
def test_a_host_is_served_only_when_it_is_loopback_the_local_address_or_allowed(
    host: str, local: str | None, allowed: frozenset[str], answered: bool
) -> None:
    assert served(host, local, allowed) is answered
