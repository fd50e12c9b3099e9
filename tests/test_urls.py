"""The pure URL rules: loopback hosts, base URLs, path segments and origins."""

from __future__ import annotations

import re

import pytest
from yarl import URL

from ionq_backends._urls import check_base_url, is_loopback, same_origin, segment


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("api.localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost.example.com", False),
        ("notlocalhost", False),
        ("10.0.0.1", False),
        ("::2", False),
        ("[::2]", False),
        ("api.ionq.co", False),
        ("", False),
        ("X127.0.0.1", False),  # a name holding a loopback address is not one
        ("[::1]X", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://api.ionq.co", "https://api.ionq.co"),
        ("https://api.ionq.co/", "https://api.ionq.co"),
        ("https://proxy.example/ionq//", "https://proxy.example/ionq"),
        ("https://proxy.example/a/b", "https://proxy.example/a/b"),
        ("https://proxy.example/API-X/", "https://proxy.example/API-X"),  # only slashes go
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://127.0.0.1:9/", "http://127.0.0.1:9"),
        ("http://[::1]:9", "http://[::1]:9"),
    ],
)
def test_accepted_base_urls_lose_their_trailing_slashes_only(base_url: str, expected: str) -> None:
    assert str(check_base_url(base_url)) == expected


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        ("ftp://api.ionq.co", "base_url must be an http(s) URL with a host, got 'ftp://api.ionq.co'"),
        ("https://", "base_url must be an http(s) URL with a host, got 'https://'"),
        ("/v0.4", "base_url must be an http(s) URL with a host, got '/v0.4'"),
        ("http://api.ionq.co",
         "base_url 'http://api.ionq.co' is plain http to a non-loopback host; use https "
         "(http is accepted only for localhost/127.0.0.0/8/::1)"),
        ("https://user@api.ionq.co", "base_url must not carry credentials, a query or a fragment"),
        ("https://:pw@api.ionq.co", "base_url must not carry credentials, a query or a fragment"),
        ("https://api.ionq.co/?x=1", "base_url must not carry credentials, a query or a fragment"),
        ("https://api.ionq.co/#top", "base_url must not carry credentials, a query or a fragment"),
    ],
)  # fmt: skip
def test_refused_base_urls_say_why(base_url: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        check_base_url(base_url)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://a.example/x", "https://a.example:443/y", True),
        ("https://a.example:443/x", "https://a.example/y", True),
        ("http://127.0.0.1:9/x", "http://127.0.0.1:9/y?z=1", True),
        ("https://a.example/x", "http://a.example/x", False),
        ("https://a.example/x", "https://b.example/x", False),
        ("https://a.example/x", "https://a.example:8443/x", False),
        ("https://a.example:8443/x", "https://a.example/x", False),
        ("http://127.0.0.1:9/x", "http://127.0.0.1:10/x", False),
    ],
)
def test_an_origin_is_scheme_host_and_port(a: str, b: str, same: bool) -> None:
    assert same_origin(URL(a), URL(b)) is same
    assert same_origin(URL(b), URL(a)) is same


@pytest.mark.parametrize(
    ("value", "quoted"),
    [("qpu.aria-1", "qpu.aria-1"), ("a/b", "a%2Fb"), ("a b?#", "a%20b%3F%23"), ("...", "...")],
)
def test_a_segment_is_quoted_whole(value: str, quoted: str) -> None:
    assert segment(value) == quoted


@pytest.mark.parametrize("value", ["", ".", ".."])
def test_dot_and_empty_segments_are_refused_naming_what_they_are(value: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(f'invalid backend name {value!r}')}$"):
        segment(value, "backend name")
