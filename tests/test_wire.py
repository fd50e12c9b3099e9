"""The pure wire layer: profiles, `decipher_response`, structured problems, the error boundary."""

from __future__ import annotations

import json
import linecache
import pickle
import re
import traceback
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from cattrs.gen import make_dict_structure_fn, override
from hypothesis import assume, given
from hypothesis import strategies as st
from multidict import CIMultiDict

from ionq_backends import (
    APIStatusError,
    AuthenticationError,
    Backend,
    Characterization,
    IonQClient,
    IonQError,
    NotFoundError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)
from ionq_backends._cli import parser
from ionq_backends._cli.format import (
    backend_rows,
    describe_change,
    error_json,
    human_duration,
    table,
)
from ionq_backends._models import BackendChange
from ionq_backends._wire import PROFILES, Request, decipher_response, make_converter, profile_for
from ionq_backends._wire.converter import structurer
from ionq_backends.emulator import Emulator
from ionq_backends.emulator._versions import RENDERINGS

PACKAGE = Path(__file__).parent.parent / "ionq_backends"
NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_every_profile_has_an_emulator_rendering() -> None:
    assert set(PROFILES) == set(RENDERINGS) == {"v0.3", "v0.4"}
    for version, profile in PROFILES.items():
        assert profile.version == version
        assert profile_for(version) is profile


def test_no_version_branch_outside_the_wire_layer() -> None:
    branch = re.compile(r"""api_version\s*[!=]=|==\s*["']v0\.\d["']""")
    offenders = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in PACKAGE.rglob("*.py")
        if "_wire" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if branch.search(line)
    ]
    assert offenders == []


def test_unknown_version_is_a_value_error_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"v0\.3, v0\.4"):
        profile_for("v0.9")
    with pytest.raises(ValueError, match="unknown api_version"):
        IonQClient(api_version="v0.2")


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("v0.3", ["backends", "characterizations/abc", "characterizations/backends/q.x/current"]),
        ("v0.4", ["backends/q.x", "backends/q.x/characterizations/abc",
                  "backends/q.x/characterizations"]),
    ],
)  # fmt: skip
def test_profiles_build_their_versions_paths(version: str, expected: list[str]) -> None:
    profile = PROFILES[version]
    paths = [
        profile.backend("q.x").path,
        profile.characterization("q.x", "abc").path,
        profile.latest_characterization("q.x").path,
    ]
    assert paths == expected


def test_dates_are_encoded_per_version() -> None:
    moment = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert PROFILES["v0.3"].encode_when(moment) == "1772368200000"
    assert PROFILES["v0.3"].encode_when(date(2026, 3, 1)) == "1772323200000"
    assert PROFILES["v0.4"].encode_when(moment) == "2026-03-01T12:30:00Z"
    assert PROFILES["v0.4"].encode_when(date(2026, 3, 1)) == "2026-03-01"


def test_v03_picks_one_backend_from_the_list_and_says_where() -> None:
    profile = PROFILES["v0.3"]
    data = [{"backend": "a"}, {"backend": "b", "status": "available"}]
    assert profile.select_backend(data, "b") == ("[1]", data[1])
    with pytest.raises(NotFoundError, match="'c' is not in the backends list"):
        profile.select_backend(data, "c")
    with pytest.raises(ResponseValidationError) as caught:
        profile.select_backend({"not": "a list"}, "a")
    assert caught.value.problems == (("", 'expected array of backends, got {"not": "a list"}'),)


def test_v04_answers_one_backend_by_its_own_path() -> None:
    assert PROFILES["v0.4"].select_backend({"backend": "a"}, "a") == ("", {"backend": "a"})
    assert PROFILES["v0.4"].backend("a") != PROFILES["v0.4"].backend("b")
    # v0.3's names share one request, so a fan-out sends it once.
    shared = Request("backends", public=True)
    assert PROFILES["v0.3"].backend("a") == PROFILES["v0.3"].backend("b") == shared


# decipher_response: canned answers in, data or typed errors out


def test_decipher_returns_the_json_of_a_2xx() -> None:
    assert decipher_response(200, {}, b'[{"backend": "a"}]') == [{"backend": "a"}]


@pytest.mark.parametrize(
    ("body", "problem"),
    [(b"", "empty body, expected JSON"), (b"<html>", "invalid JSON (JSONDecodeError: ")],
)
def test_decipher_refuses_a_2xx_that_is_not_json(body: bytes, problem: str) -> None:
    with pytest.raises(ResponseValidationError) as caught:
        decipher_response(200, {"x-request-id": "r-1"}, body)
    ((where, message),) = caught.value.problems
    assert where == ""
    assert message.startswith(problem)
    assert caught.value.request_id == "r-1"


@pytest.mark.parametrize(
    ("status", "headers", "body", "cls", "message"),
    [
        (401, {}, b'{"error":"Unauthorized","message":"bad key","statusCode":401}',
         AuthenticationError, "bad key"),
        (429, {"Retry-After": "7"}, b"", RateLimitError, "Too Many Requests"),
        (502, {}, b"<html><title>502 Bad Gateway</title></html>", ServerError, "502 Bad Gateway"),
        (418, {}, b'{"code": 7, "message": "teapot"}', APIStatusError, "teapot"),
    ],
)  # fmt: skip
def test_decipher_raises_the_typed_error_of_a_status(
    status: int, headers: dict[str, str], body: bytes, cls: type[APIStatusError], message: str
) -> None:
    with pytest.raises(APIStatusError) as caught:
        decipher_response(status, CIMultiDict({**headers, "X-Request-Id": "r-2"}), body)
    error = caught.value
    assert type(error) is cls
    assert (error.status_code, error.message, error.request_id) == (status, message, "r-2")
    assert error.retry_after == (7.0 if status == 429 else None)


# Structured validation problems


def test_problems_stay_pairs_until_rendered() -> None:
    with pytest.raises(ResponseValidationError) as caught:
        make_converter("v0.4").structure([{"backend": "a", "status": 3}], list[Backend])
    error = caught.value
    assert error.problems == (("[0].status", "expected string, got 3"),)
    assert error.errors == ("$[0].status: expected string, got 3",)
    moved = error.under(".items")
    assert moved.problems == ((".items[0].status", "expected string, got 3"),)
    assert pickle.loads(pickle.dumps(moved)).problems == moved.problems


def test_context_is_attached_once_and_never_overwritten() -> None:
    error = ResponseValidationError([("", "x")], request_id="first")
    placed = error.with_context(method="GET", path="/v0.4/backends", request_id="second")
    assert (placed.method, placed.path, placed.request_id) == ("GET", "/v0.4/backends", "first")
    assert error.path is None  # a copy: the original is untouched


async def test_v03_item_problems_name_their_index_in_the_list() -> None:
    async with Emulator() as emulator:
        emulator.set_backend("qpu.aria-2", status=7)  # a required field: the item fails
        async with IonQClient(base_url=emulator.base_url, api_version="v0.3") as client:
            snapshot = await client.get_backends(["qpu.aria-1", "qpu.aria-2"])
    assert list(snapshot) == ["qpu.aria-1"]
    error = snapshot.errors["qpu.aria-2"]
    assert isinstance(error, ResponseValidationError)
    assert error.problems == (("[1].status", "expected string, got 7"),)
    assert error.path == "/v0.3/backends"
    assert error.request_id and error.request_id.startswith("emu-")
    assert len([r for r in emulator.requests if r.path == "/v0.3/backends"]) == 1


# The error boundary


async def test_a_closed_client_raises_one_runtime_error_not_one_per_backend() -> None:
    async with Emulator() as emulator:
        client = IonQClient(base_url=emulator.base_url)
        await client.close()
        with pytest.raises(RuntimeError, match="closed"):
            await client.get_backends()
        with pytest.raises(RuntimeError, match="closed"):
            await client.list_backends()
        assert list(emulator.requests) == []


@pytest.mark.parametrize("name", [None, 3, b"qpu.aria-1"])
async def test_a_name_that_is_not_a_str_is_a_type_error_before_any_request(name: Any) -> None:
    async with Emulator() as emulator, IonQClient(base_url=emulator.base_url) as client:
        with pytest.raises(TypeError, match="must be a str"):
            await client.get_backend(name)
        with pytest.raises(TypeError, match="must be a str"):
            await client.get_backends(["qpu.aria-1", name])
        assert list(emulator.requests) == []


async def test_a_parser_surprise_becomes_a_validation_error_naming_the_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with Emulator() as emulator, IonQClient(base_url=emulator.base_url) as client:

        def explode(data: Any, where: str = "") -> Any:
            raise OverflowError("int too large to convert")

        for structure in ("_backend", "_backend_hook", "_backends"):
            monkeypatch.setattr(client, structure, explode)
        with pytest.raises(ResponseValidationError) as caught:
            await client.list_backends()
        snapshot = await client.get_backends(["qpu.aria-1"])
    error = caught.value
    assert error.problems == (("", "unreadable body (OverflowError: int too large to convert)"),)
    assert error.path == "/v0.4/backends"
    assert isinstance(snapshot.errors["qpu.aria-1"], IonQError)


# cattrs' generated structurers: their source in a traceback, and one set for every client


def test_the_generated_structurer_source_is_in_linecache() -> None:
    converter = make_converter("v0.4")

    def broken(value: Any, _type: Any) -> Any:
        raise ZeroDivisionError("boom")  # no problem the converter knows: it stays as it is

    converter.register_structure_hook_func(lambda t: t == bool | None, broken)
    hook = make_dict_structure_fn(Backend, converter, name=override(rename="backend"))
    with pytest.raises(ExceptionGroup) as caught:
        hook({"backend": "a", "status": "available", "degraded": True, "api_version": "v0.4"},
             Backend)  # fmt: skip
    frames = traceback.extract_tb(caught.value.exceptions[0].__traceback__)  # type: ignore[attr-defined]
    generated = [f for f in frames if f.filename.startswith("<cattrs generated")]
    assert generated, [f.filename for f in frames]
    line = linecache.getline(generated[0].filename, generated[0].lineno or 0)
    assert "o['degraded']" in line


async def test_clients_share_one_converter_per_version_and_mode() -> None:
    IonQClient(api_version="v0.3", strict=True)  # the first of its kind builds it
    before = len(linecache.cache)
    clients = [IonQClient(api_version=v, strict=s) for v in ("v0.3", "v0.4") for s in (0, 1)] * 25
    assert len(linecache.cache) <= before + 8  # at most the other three, never one per client
    for client in clients:
        await client.close()


# The CLI: per-command options and pure formatters


def _help(*command: str) -> str:
    top = parser()
    with pytest.raises(SystemExit):
        top.parse_args([*command, "--help"])
    return ""


def test_each_command_offers_only_its_own_options(capsys: pytest.CaptureFixture[str]) -> None:
    _help("emulator")
    emulator_help = capsys.readouterr().out
    for option in ("--api-version", "--base-url", "--emulator", "--timeout"):
        assert option not in emulator_help
    assert "--port" in emulator_help
    _help("list")
    list_help = capsys.readouterr().out
    for option in ("--api-version", "--base-url", "--emulator", "--timeout", "--json"):
        assert option in list_help
    assert "--port" not in list_help


def test_formatters_are_pure_text() -> None:
    from datetime import timedelta

    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    backend = Backend("qpu.a", "available", "v0.4", qubits=25, average_queue_time=1_181_215.0,
                      last_updated=now - timedelta(minutes=3), degraded=False)  # fmt: skip
    assert backend_rows([backend], now) == [
        ["qpu.a", "available", "25", "19m 41s", "3 min ago", "no"]
    ]
    # A queue says nothing of a wait where no job runs; the status word counts as degraded.
    down = attrs.evolve(backend, status="unavailable")
    retired = attrs.evolve(backend, status="retired", degraded=None)
    word = attrs.evolve(backend, status="degraded")
    assert [row[3:] for row in backend_rows([down, retired, word], now)] == [
        ["-", "3 min ago", "no"],
        ["-", "3 min ago", "-"],
        ["19m 41s", "3 min ago", "yes"],
    ]
    assert human_duration(timedelta(hours=3, minutes=23)) == "3h 23m"
    text = table(("NAME", "N"), [["a", "5"], ["bbb", "10"]], {})
    assert text.splitlines() == ["NAME   N", "a      5", "bbb   10"]
    changed = Backend("qpu.a", "unavailable", "v0.4", qubits=25)
    line = describe_change(BackendChange("qpu.a", backend, changed, None, ("status",)), now)
    assert line == f"2026-01-01T12:00:00Z  {'qpu.a':22}  status: available -> unavailable"
    recovered = describe_change(BackendChange("qpu.a", backend, changed), now)
    assert recovered == f"2026-01-01T12:00:00Z  {'qpu.a':22}  {'recovered':11}  unavailable"


def test_errors_as_json_say_what_and_for_a_status_which() -> None:
    status = NotFoundError("gone", status_code=404, request_id="r-1", path="/p")
    assert error_json(status) == {"type": "NotFoundError", "message": "gone",
                                  "status_code": 404, "request_id": "r-1"}  # fmt: skip
    assert error_json(IonQError("odd")) == {"type": "IonQError", "message": "odd"}
    timed_out = describe_change(BackendChange("qpu.a", None, None, IonQError("odd")), now=NOW)
    assert timed_out == f"2026-01-01T12:00:00Z  {'qpu.a':22}  {'ERROR':11}  odd"


# Every request a profile builds, whole (mutation testing: paths, parameters, `public`)


def test_v03_requests() -> None:
    v3 = PROFILES["v0.3"]
    listing = Request("backends", (), public=True)
    verbose = Request("backends", (("status", "verbose"),), public=True)
    assert v3.list_backends() == v3.backend("q.x") == v3.backend("q.x", verbose=False) == listing
    assert v3.list_backends(verbose=True) == v3.backend("q.x", verbose=True) == verbose
    assert v3.characterization("q.x", "abc") == Request("characterizations/abc")
    assert v3.characterizations("q.x", {"limit": "2", "page": "3"}) == Request(
        "characterizations/backends/q.x", (("limit", "2"), ("page", "3"))
    )
    assert v3.latest_characterization("q.x") == Request("characterizations/backends/q.x/current")


def test_v04_requests() -> None:
    v4 = PROFILES["v0.4"]
    assert v4.list_backends() == Request("backends", (), public=True)
    assert v4.backend("q.x") == v4.backend("q.x", verbose=True) == Request("backends/q.x", (), True)
    assert v4.characterization("q.x", "abc") == Request("backends/q.x/characterizations/abc")
    assert v4.characterizations("q.x", {"limit": "2", "page": "3"}) == Request(
        "backends/q.x/characterizations", (("limit", "2"), ("page", "3"))
    )
    assert v4.latest_characterization("q.x") == Request(
        "backends/q.x/characterizations", (("limit", "1"), ("page", "1"))
    )
    assert v4.latest_characterization("q.x").query == {"limit": "1", "page": "1"}
    assert Request("backends").query is None


CHARACTERIZATION = {"id": "c-1", "date": 1750032000, "fidelity": {"1q": {"mean": 0.99}}}


@pytest.mark.parametrize("none", [None, [], {}])
def test_v03_latest_none_shapes(none: Any) -> None:
    v3 = PROFILES["v0.3"]
    assert v3.latest_from(none, v3.converter()) is None


def test_latest_from_each_version() -> None:
    v3, v4 = PROFILES["v0.3"], PROFILES["v0.4"]
    found = v3.latest_from(CHARACTERIZATION, v3.converter())
    assert found is not None and found.id == "c-1"
    page = {"characterizations": [CHARACTERIZATION, {**CHARACTERIZATION, "id": "c-0"}]}
    first = v4.latest_from(page, v4.converter())
    assert first is not None and first.id == "c-1"
    for empty in ({"characterizations": [], "pages": 0}, {"characterizations": None}):
        assert v4.latest_from(empty, v4.converter()) is None


def test_a_backend_missing_from_the_list_is_a_404() -> None:
    with pytest.raises(NotFoundError) as caught:
        PROFILES["v0.3"].select_backend([], "qpu.x")
    assert caught.value.status_code == 404
    assert caught.value.message == "backend 'qpu.x' is not in the backends list"


@pytest.mark.parametrize("version", [None, 0.4, ["v0.4"], b"v0.4"])
def test_an_api_version_that_is_no_str_is_a_value_error(version: Any) -> None:
    with pytest.raises(ValueError, match="unknown api_version"):
        profile_for(version)


@pytest.mark.parametrize("version", ["v0.3", "v0.4"])
def test_a_profiles_converter_is_lenient_unless_asked(version: str) -> None:
    profile = PROFILES[version]
    item = {**CHARACTERIZATION, "new": 1, "timing": {"zz": 2},
            "fidelity": {"1q": {profile.statistic: 0.9, "p90": 0.95}}}  # fmt: skip
    lenient = profile.converter().structure(item, Characterization)
    assert lenient.extra == {"new": 1} and lenient.timing.extra == {"zz": 2}
    with pytest.raises(ResponseValidationError) as caught:
        profile.converter(strict=True).structure(item, Characterization)
    assert caught.value.errors == (
        '$.fidelity["1q"].p90: unknown field',
        "$.timing.zz: unknown field",
        "$.new: unknown field",
    )
    with pytest.raises(ResponseValidationError) as caught:
        profile.converter().structure({"date": 1750032000}, Characterization)
    assert caught.value.errors == ("$.id: required field missing",)


# decipher_response at the edges of 2xx, and what a status error keeps


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_every_2xx_is_data(status: int) -> None:
    assert decipher_response(status, {}, b"[]") == []


@pytest.mark.parametrize("status", [199, 300, 301, 304])
def test_anything_else_is_a_status_error(status: int) -> None:
    with pytest.raises(APIStatusError) as caught:
        decipher_response(status, {}, b"[]")
    assert caught.value.status_code == status


def test_a_status_error_keeps_type_body_and_request_id_from_any_mapping() -> None:
    body = b'{"error": "Forbidden", "message": "no", "statusCode": 403}'
    with pytest.raises(APIStatusError) as caught:
        decipher_response(403, {"x-request-id": "r-3"}, body)
    error = caught.value
    assert (error.error_type, error.request_id) == ("Forbidden", "r-3")
    assert error.body == {"error": "Forbidden", "message": "no", "statusCode": 403}


def test_invalid_json_says_why_in_at_most_80_characters() -> None:
    deep = b"[" * 100_000
    try:
        json.loads(deep)
    except RecursionError as exc:
        reason = str(exc)
    assert len(reason) > 80
    with pytest.raises(ResponseValidationError) as caught:
        decipher_response(200, {}, deep)
    assert caught.value.problems == (("", f"invalid JSON (RecursionError: {reason[:80]})"),)


def test_what_a_fast_decoder_refuses_is_read_again_by_json(monkeypatch: pytest.MonkeyPatch) -> None:
    import math

    from ionq_backends._wire import response

    def refuses(body: bytes) -> Any:
        raise ValueError("orjson refuses NaN")

    monkeypatch.setattr(response, "_fast_loads", refuses)
    (value,) = response.decode_json(b"[NaN]")
    assert math.isnan(value)  # then a problem with its path, in the structurer
    monkeypatch.setattr(response, "_fast_loads", lambda body: ["fast", body])
    assert response.decode_json(b'["slow"]') == ["fast", b'["slow"]']


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(
    value=_JSON,
    before=st.sampled_from(["", " ", "\n\t", "\ufeff"]),
    after=st.sampled_from(["", " ", "\r\n", "x", "]"]),
    encoding=st.sampled_from(["utf-8", "utf-16", "utf-32", "latin-1"]),
)
def test_the_standard_decoder_reads_exactly_what_json_loads_reads(
    value: Any, before: str, after: str, encoding: str
) -> None:
    from ionq_backends._wire import response

    try:
        body = (before + json.dumps(value, ensure_ascii=False) + after).encode(encoding)
    except UnicodeEncodeError:
        assume(False)  # latin-1 has no such character: nothing to send
    saved = response._fast_loads
    response._fast_loads = None  # the run-time dependencies alone (no orjson)
    try:
        expected: Any = json.loads(body)
    except (ValueError, RecursionError):
        expected = ResponseValidationError
    try:
        got: Any = response.decode_json(body)
    except ResponseValidationError:
        got = ResponseValidationError
    finally:
        response._fast_loads = saved
    assert repr(got) == repr(expected)  # repr: NaN is never equal to itself


@pytest.mark.parametrize(
    ("body", "value"), [(b"12", 12), (b"-3.5", -3.5), (b"true", True), (b'"x"', "x"), (b"[]", [])]
)
def test_a_bare_json_value_decodes_whole(body: bytes, value: Any) -> None:
    from ionq_backends._wire import response

    assert response.decode_json(body) == value  # from its first character, never its second


def test_structure_functions_are_lenient_unless_asked() -> None:
    item = {"backend": "a", "status": "available", "surprise": 1}
    lenient = structurer(make_converter("v0.4"), Backend)
    assert lenient(item).extra == {"surprise": 1}
    assert lenient(item, "").extra == {"surprise": 1}  # the body itself
    with pytest.raises(ResponseValidationError) as caught:
        structurer(make_converter("v0.4", strict=True), Backend)(item, "[2]")
    assert caught.value.problems == (("[2].surprise", "unknown field"),)


def test_listed_names_are_the_string_names_of_a_listing_in_order() -> None:
    listed = PROFILES["v0.4"].listed_names
    data = [{"backend": "b"}, {"backend": "a"}, {"backend": "b"}, {"backend": 3}, {"x": 1}, "c"]
    assert listed(data) == ["b", "a"]
    for no_array in ({"backend": "a"}, None):  # no news of the fleet, never an empty one
        with pytest.raises(ResponseValidationError, match="expected array of backends"):
            listed(no_array)
