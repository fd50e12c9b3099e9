"""Pure URL rules: which base URLs are allowed, how path segments are quoted, what an origin is."""

from __future__ import annotations

import ipaddress
from urllib.parse import quote

from yarl import URL

__all__ = ["check_base_url", "is_loopback", "same_origin", "segment"]


def is_loopback(host: str) -> bool:
    """True for `localhost`, `*.localhost`, 127.0.0.0/8 and `::1` (bracketed or not)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str) -> URL:
    """Return `base_url` as a URL with no trailing slash, or raise `ValueError`.

    Plain `http://` is accepted only for loopback hosts: the API key must not cross a network
    in the clear.
    """
    url = URL(base_url)
    if url.scheme not in ("https", "http") or not url.host:
        raise ValueError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
    if url.scheme == "http" and not is_loopback(url.host):
        raise ValueError(
            f"base_url {base_url!r} is plain http to a non-loopback host; use https "
            "(http is accepted only for localhost/127.0.0.0/8/::1)"
        )
    if url.user or url.password or url.query_string or url.fragment:
        raise ValueError("base_url must not carry credentials, a query or a fragment")
    return url.with_path(url.path.rstrip("/"))


def segment(value: str, what: str = "path segment") -> str:
    """Quote `value` as one path segment; refuse `""`, `"."` and `".."` before any request."""
    value = str(value)
    if value in ("", ".", ".."):
        raise ValueError(f"invalid {what} {value!r}")
    try:
        return quote(value, safe="")
    except UnicodeEncodeError:  # a lone surrogate: no URL can carry it
        raise ValueError(f"invalid {what} {value!r}: not encodable as UTF-8") from None


def same_origin(a: URL, b: URL) -> bool:
    """True when both URLs share scheme, host and port."""
    return (a.scheme, a.host, a.explicit_port or a.port) == (
        b.scheme,
        b.host,
        b.explicit_port or b.port,
    )
