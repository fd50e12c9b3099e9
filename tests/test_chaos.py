"""The chaos suite: a raw asyncio server, driven by hypothesis, answers every public call with
random and hostile status lines, headers, encodings and bodies.

The property: each call returns a value or raises an `IonQError`, within its deadline, with
peak memory bounded, and with no task, file descriptor or socket left behind.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import resource
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ionq_backends import IonQClient, IonQError

from .conftest import ionq_tasks

LATIN1 = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
PRINTABLE = st.text(LATIN1, max_size=40)
HOSTILE_TEXT = st.sampled_from(
    ["", "0", "-5", "²", "1e400", "NaN", "9" * 300, "http://[::1", "http://127.0.0.1:99999/",
     "//evil.example/x", "/v0.4/backends/y", "http://u:p@127.0.0.1/", "gzip", "deflate", "br",
     "gzip, gzip, gzip", "identity", "\x1b]0;pwned\x07", "Wed, 21 Oct 2015 07:28:00 GMT"]
)  # fmt: skip
HEADER_NAMES = st.sampled_from(
    ["Content-Type", "Content-Encoding", "Location", "Retry-After", "retry-after-ms",
     "x-request-id", "Transfer-Encoding", "X-Other"]
)  # fmt: skip
BACKEND = st.fixed_dictionaries(
    {"backend": st.sampled_from(["qpu.a", "qpu.b", "\x1b[2J"]),
     "status": st.sampled_from(["available", "unavailable", "degraded", 7])},
    optional={"qubits": st.one_of(st.integers(), st.floats(allow_nan=True)),
              "last_updated": st.one_of(st.integers(), st.text(max_size=30), st.floats()),
              "average_queue_time": st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                              st.integers()),
              "characterization_id": st.sampled_from(["..", "", "abc", "/x/.."]),
              "characterization_url": st.sampled_from(["/characterizations/..", "/c/abc", 5])},
)  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=4),
    max_leaves=20,
)  # fmt: skip


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


BODY = st.one_of(
    BACKEND.map(_json),
    st.lists(BACKEND, max_size=4).map(_json),
    st.fixed_dictionaries({"characterizations": st.one_of(st.none(), st.lists(
        st.fixed_dictionaries({"id": st.sampled_from(["a", "b", ".."])}), max_size=3)),
        "pages": st.integers()}).map(_json),
    JSON.map(_json),
    st.binary(max_size=64),
    st.integers(1, 50_000).map(lambda n: b"[" * n),
    st.sampled_from([b"NaN", b"[1e400]", b"1" * 4000, b"<html><title>x</title>", b""]),
)  # fmt: skip


@st.composite
def answers(draw: st.DrawFn) -> bytes:
    """One whole HTTP/1.1 answer, framing included, possibly broken on purpose."""
    status = draw(st.sampled_from([200, 200, 200, 204, 301, 302, 307, 400, 401, 404, 429, 500,
                                   503, 520]) | st.integers(100, 999))  # fmt: skip
    body = draw(BODY)
    coding = draw(st.sampled_from([None, None, "gzip", "deflate", "raw-deflate", "br"]))
    if coding == "gzip":
        body = gzip.compress(body)
    elif coding == "deflate":
        body = zlib.compress(body)
    elif coding == "raw-deflate":
        packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        body, coding = packer.compress(body) + packer.flush(), "deflate"
    names = draw(st.lists(HEADER_NAMES, max_size=4))
    headers = [(n, draw(HOSTILE_TEXT | PRINTABLE)) for n in names]
    if coding:
        headers.append(("Content-Encoding", coding))
    length = draw(st.sampled_from(["exact", "exact", "none", "short", "long"]))
    if length != "none":
        size = len(body) + {"exact": 0, "short": -1, "long": 7}[length]
        headers.append(("Content-Length", str(max(size, 0))))
    head = f"HTTP/1.1 {status} Chaos\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    return head.encode("latin-1") + b"Connection: close\r\n\r\n" + body


Call = Callable[[IonQClient], Awaitable[Any]]


async def _first(client: IonQClient) -> Any:
    async for item in client.iter_characterizations("qpu.a", page_size=2):
        return item
    return None


CALLS: dict[str, Call] = {
    "list_backends": lambda c: c.list_backends(),
    "get_backend": lambda c: c.get_backend("qpu.a"),
    "get_backends": lambda c: c.get_backends(["qpu.a", "qpu.b"]),
    "latest_characterization": lambda c: c.latest_characterization("qpu.a"),
    "get_characterization": lambda c: c.get_characterization("qpu.a", "abc"),
    "iter_characterizations": _first,
}


async def _instant(delay: float) -> None:
    await asyncio.sleep(0)


async def _scenario(answer: bytes, version: str, call: Call) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with IonQClient(base_url=f"http://127.0.0.1:{port}", api_version=version,
                              timeout=2.0, max_retries=1, sleep=_instant) as client:  # fmt: skip
            async with asyncio.timeout(10):  # the deadline: a hang fails the property
                try:
                    result = await call(client)
                except IonQError as error:
                    str(error), repr(error)  # rendering an error must not raise either
                else:
                    if hasattr(result, "errors"):
                        assert all(isinstance(e, IonQError) for e in result.errors.values())
        assert ionq_tasks() == []
    finally:
        server.close()
        await server.wait_closed()


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer=answers(), version=st.sampled_from(["v0.3", "v0.4"]),
       call=st.sampled_from(sorted(CALLS)))  # fmt: skip
def test_every_public_call_survives_any_answer(answer: bytes, version: str, call: str) -> None:
    asyncio.run(_scenario(answer, version, CALLS[call]))


def test_chaos_leaves_no_fd_and_bounded_memory() -> None:
    """The property test above, run again here with fds and peak RSS measured around it."""
    fds = _fds()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    test_every_public_call_survives_any_answer()
    assert _fds() == fds
    grew_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) / 1024
    assert grew_mib < 64, grew_mib
