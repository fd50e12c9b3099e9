"""Converters: the wire of v0.3 and v0.4 into one set of models, lenient and strict."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from ionq_backends import (
    Backend,
    BackendStatus,
    Characterization,
    CharacterizationPage,
    ResponseValidationError,
    Timing,
    make_converter,
)
from ionq_backends._wire import PROFILES, hooks
from ionq_backends._wire.dates import as_utc, epoch_millis, iso_z

V4_BACKEND = {  # the v0.4 seed page's example
    "average_queue_time": 1181215,
    "backend": "qpu.aria-1",
    "degraded": True,
    "last_updated": "2025-06-16T00:00:00Z",
    "qubits": 25,
    "status": "available",
    "characterization_id": "617a1f8b-59d4-435d-aa33-695433d7155e",
    "kw": 4902.81,
    "location": "College Park, MD, USA",
    "supported_gates": ["x", "rz", "cnot"],
    "supported_native_gates": ["gpi", "gpi2", "ms"],
    "supported_error_mitigations": ["debiasing"],
}
V3_BACKEND = {  # the v0.3 spec's example values
    "backend": "qpu.aria-1",
    "status": "available",
    "qubits": 25,
    "average_queue_time": 1181215,
    "last_updated": 1490932820,
    "degraded": False,
    "characterization_url": "/characterizations/617a1f8b-59d4-435d-aa33-695433d7155e",
    "has_access": True,
}


def structure(version: str, data: Any, cls: Any = Backend, *, strict: bool = False) -> Any:
    return make_converter(version, strict=strict).structure(data, cls)


def problems(
    version: str, data: Any, cls: Any = Backend, *, strict: bool = False
) -> tuple[str, ...]:
    with pytest.raises(ResponseValidationError) as info:
        structure(version, data, cls, strict=strict)
    return info.value.errors


def test_v04_backend_maps_every_field() -> None:
    backend = structure("v0.4", V4_BACKEND)
    assert backend.name == "qpu.aria-1"
    assert backend.status is BackendStatus.AVAILABLE
    assert backend.qubits == 25
    assert backend.average_queue_time == 1181215.0
    assert isinstance(backend.average_queue_time, float)
    assert backend.queue_time == timedelta(milliseconds=1181215)
    assert backend.last_updated == datetime(2025, 6, 16, tzinfo=UTC)
    assert backend.degraded is True
    assert backend.characterization_id == "617a1f8b-59d4-435d-aa33-695433d7155e"
    assert backend.kw == 4902.81
    assert backend.location == "College Park, MD, USA"
    assert backend.supported_gates == ("x", "rz", "cnot")
    assert backend.supported_native_gates == ("gpi", "gpi2", "ms")
    assert backend.supported_error_mitigations == ("debiasing",)
    assert backend.api_version == "v0.4"
    assert backend.extra == {}


def test_v03_backend_epoch_and_characterization_url() -> None:
    backend = structure("v0.3", V3_BACKEND)
    assert backend.last_updated == datetime.fromtimestamp(1490932820, UTC)
    assert backend.last_updated.tzinfo is UTC
    assert backend.characterization_id == "617a1f8b-59d4-435d-aa33-695433d7155e"
    assert backend.has_access is True
    assert backend.kw is None
    assert backend.api_version == "v0.3"


@pytest.mark.parametrize("status", ["running", "reserved", "calibrating", "offline"])
def test_v03_verbose_statuses_are_members(status: str) -> None:
    backend = structure("v0.3", {**V3_BACKEND, "status": status})
    assert backend.status is BackendStatus(status)


def test_both_versions_describe_the_same_machine_alike() -> None:
    v3 = structure("v0.3", {**V3_BACKEND, "last_updated": 1750032000})
    v4 = structure("v0.4", V4_BACKEND)
    for field in ("name", "status", "qubits", "average_queue_time", "last_updated"):
        assert getattr(v3, field) == getattr(v4, field), field
    assert v3.characterization_id == v4.characterization_id


def test_unknown_name_status_and_fields_are_kept_leniently() -> None:
    data = {**V4_BACKEND, "backend": "qpu.tempo-7", "status": "maintenance",
            "noise_models": ["aria-1"],
            "carbon": {"g": 3}}  # fmt: skip
    backend = structure("v0.4", data)
    assert backend.name == "qpu.tempo-7"
    assert type(backend.name) is str
    assert backend.status == "maintenance"
    assert not isinstance(backend.status, BackendStatus)
    assert backend.noise_models == ("aria-1",)
    assert backend.extra == {"carbon": {"g": 3}}


def test_strict_rejects_unknown_fields_and_statuses_but_never_names() -> None:
    data = {**V4_BACKEND, "backend": "qpu.tempo-7", "status": "maintenance", "carbon": 1}
    assert problems("v0.4", data, strict=True) == (
        '$.status: unknown status "maintenance"',
        "$.carbon: unknown field",
    )
    assert structure("v0.4", {**V4_BACKEND, "backend": "qpu.tempo-7"}, strict=True).name == (
        "qpu.tempo-7"
    )


def test_missing_degraded_and_qubits_and_nulls_are_none() -> None:
    data = {k: v for k, v in V4_BACKEND.items() if k not in ("degraded", "qubits")}
    data["characterization_id"] = None
    data["kw"] = None
    backend = structure("v0.4", data)
    assert backend.degraded is None
    assert backend.qubits is None
    assert backend.characterization_id is None
    assert backend.kw is None


def test_float_numbers_are_never_truncated() -> None:
    backend = structure("v0.4", {**V4_BACKEND, "average_queue_time": 0.00013, "qubits": 25.0})
    assert backend.average_queue_time == 0.00013
    assert backend.qubits == 25


def test_error_paths_name_wire_keys_and_list_every_problem() -> None:
    items = [V4_BACKEND] * 3 + [{**V4_BACKEND, "last_updated": "17", "qubits": "many"}]
    assert problems("v0.4", items, list[Backend], strict=True) == (
        '$[3].qubits: expected integer, got "many"',  # in the model's field order
        '$[3].last_updated: expected ISO-8601 datetime, got "17"',
    )


@pytest.mark.parametrize(
    ("version", "data", "expected"),
    [
        ("v0.4", {"status": "available"}, "$.backend: required field missing"),
        ("v0.4", {"backend": None, "status": "available"}, "$.backend: expected string, got null"),
        ("v0.4", {"backend": "a", "status": True}, "$.status: expected string, got true"),
        ("v0.4", {**V4_BACKEND, "qubits": True}, "$.qubits: expected integer, got true"),
        ("v0.4", {**V4_BACKEND, "last_updated": "yesterday"},
         '$.last_updated: expected ISO-8601 datetime, got "yesterday"'),
        ("v0.3", {**V3_BACKEND, "last_updated": [2025]},
         "$.last_updated: expected ISO-8601 datetime or epoch number, got [2025]"),
        ("v0.4", {**V4_BACKEND, "supported_gates": ["x", 3]},
         "$.supported_gates[1]: expected string, got 3"),
        ("v0.4", [1], "$: expected backend object, got [1]"),
        ("v0.3", {**V3_BACKEND, "last_updated": 1e300},
         "$.last_updated: expected epoch seconds or milliseconds, got 1e+300"),
    ],
)  # fmt: skip
def test_validation_messages(version: str, data: Any, expected: str) -> None:
    assert problems(version, data, strict=True) == (expected,)


def test_list_of_backends_requires_an_array() -> None:
    assert problems("v0.4", {"backend": "a"}, list[Backend]) == (
        '$: expected array of backends, got {"backend": "a"}',
    )


# JSON's true and false are not numbers, though Python's bool is an int: `type(x) is int`, never
# `isinstance(x, int)`, in every leaf parser. `true` read as an epoch would be 1970-01-01T00:00:01.


@pytest.mark.parametrize("flag", [True, False])
@pytest.mark.parametrize(
    ("leaf", "expected"),
    [(hooks.number, "number"), (hooks.integer, "integer"),
     (hooks.epoch, "epoch seconds or milliseconds"),
     (hooks.when, "ISO-8601 datetime or epoch number"), (hooks.iso, "ISO-8601 datetime"),
     (hooks.string, "string"), (hooks.link_id, "characterization id")],
)  # fmt: skip
def test_a_json_boolean_is_no_number_and_no_epoch(
    leaf: Callable[[Any], Any], expected: str, flag: bool
) -> None:
    with pytest.raises(hooks.Invalid) as info:
        leaf(flag)
    assert info.value.problems == [("", f"expected {expected}, got {str(flag).lower()}")]


@pytest.mark.parametrize("version", ["v0.3", "v0.4"])
@pytest.mark.parametrize(
    ("key", "expected"),
    [("last_updated", "ISO-8601 datetime or epoch number"), ("average_queue_time", "number"),
     ("qubits", "integer"), ("degraded", None), ("characterization_id", "characterization id")],
)  # fmt: skip
def test_a_json_boolean_is_no_backend_number_or_date(
    version: str, key: str, expected: str | None
) -> None:
    data = {**(V3_BACKEND if version == "v0.3" else V4_BACKEND), key: True}
    if expected is None:  # a boolean field takes it
        assert getattr(structure(version, data), key) is True
        return
    assert problems(version, data, strict=True) == (f"$.{key}: expected {expected}, got true",)
    lenient = structure(version, data)  # one bad optional field costs only that field
    assert getattr(lenient, key) is None and lenient.extra[key] is True


@pytest.mark.parametrize("version", ["v0.3", "v0.4"])
def test_a_json_boolean_is_no_characterization_number_or_date(version: str) -> None:
    statistic = PROFILES[version].statistic
    data = {**V4_CHARACTERIZATION, "date": False, "qubits": True, "connectivity": [[True, 1]],
            "fidelity": {"1q": {statistic: True, "stderr": False}},
            "timing": {"t1": True}}  # fmt: skip
    assert problems(version, data, Characterization, strict=True) == (
        "$.date: expected ISO-8601 datetime or epoch number, got false",
        "$.qubits: expected integer, got true",
        "$.connectivity[0]: expected pair of qubit indices, got [true, 1]",
        f'$.fidelity["1q"].{statistic}: expected number, got true',
        '$.fidelity["1q"].stderr: expected number, got false',
        "$.timing.t1: expected number, got true",
    )
    page = {"characterizations": [], "pages": True}
    assert problems(version, page, CharacterizationPage) == ("$.pages: expected integer, got true",)


# A naive datetime is UTC, never local time. On a machine whose zone is UTC the two agree, so
# these run with the process's zone moved away from UTC.
AWAY_FROM_UTC = "EST+05EDT,M3.2.0,M11.1.0"  # New York's rule, as POSIX TZ: needs no tz database


@pytest.fixture
def local_time_is_not_utc() -> Iterator[None]:
    """Local time is New York's for the test (UTC-4 in June), and the zone is restored after."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = AWAY_FROM_UTC
    time.tzset()
    try:
        # Guard: were the zone still UTC, every test below would pass whatever the code does.
        assert datetime(2025, 6, 16).astimezone().utcoffset() == timedelta(hours=-4)
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.mark.usefixtures("local_time_is_not_utc")
@pytest.mark.parametrize("version", ["v0.3", "v0.4"])
def test_iso_offsets_become_utc_and_naive_is_read_as_utc(version: str) -> None:
    data = V3_BACKEND if version == "v0.3" else V4_BACKEND
    shifted = structure(version, {**data, "last_updated": "2025-06-16T02:00:00+02:00"})
    naive = structure(version, {**data, "last_updated": "2025-06-16T00:00:00"})
    zulu = structure(version, {**data, "last_updated": "2025-06-16T00:00:00Z"})
    midnight = datetime(2025, 6, 16, tzinfo=UTC)
    assert shifted.last_updated == naive.last_updated == zulu.last_updated == midnight
    assert shifted.last_updated.tzinfo is naive.last_updated.tzinfo is UTC
    assert naive.last_updated.hour == 0  # read as local time it would be 04:00 UTC
    item = structure(version, {**V4_CHARACTERIZATION, "date": "2025-06-16T00:00:00"},
                     Characterization)  # fmt: skip
    assert item.date == midnight


@pytest.mark.usefixtures("local_time_is_not_utc")
def test_epochs_are_utc_whatever_the_local_zone() -> None:
    backend = structure("v0.3", {**V3_BACKEND, "last_updated": 1750032000})
    assert backend.last_updated == datetime(2025, 6, 16, tzinfo=UTC)
    assert backend.last_updated.tzinfo is UTC
    millis = structure("v0.3", {**V3_BACKEND, "last_updated": 1750032000123})
    assert millis.last_updated == datetime(2025, 6, 16, 0, 0, 0, 123000, tzinfo=UTC)


@pytest.mark.usefixtures("local_time_is_not_utc")
def test_query_dates_read_a_naive_datetime_as_utc() -> None:
    naive, midnight = datetime(2025, 6, 16), datetime(2025, 6, 16, tzinfo=UTC)
    assert as_utc(naive) == as_utc(date(2025, 6, 16)) == midnight
    assert as_utc(naive).tzinfo is UTC
    assert iso_z(naive) == iso_z(midnight) == "2025-06-16T00:00:00Z"
    assert epoch_millis(naive) == epoch_millis(date(2025, 6, 16)) == "1750032000000"
    assert PROFILES["v0.3"].encode_when(naive) == "1750032000000"
    assert PROFILES["v0.4"].encode_when(naive) == "2025-06-16T00:00:00Z"
    new_york = midnight.astimezone()  # aware, in local time: 2025-06-15T20:00:00-04:00
    assert new_york.hour == 20
    assert iso_z(new_york) == "2025-06-16T00:00:00Z"


def test_converters_are_fresh_per_call() -> None:
    """Two calls never share a converter: a hook a caller registers on one stays there."""
    mine, other = make_converter("v0.4"), make_converter("v0.4")
    assert mine is not other
    mine.register_structure_hook(Backend, lambda obj, cls: "hooked")
    assert mine.structure(V4_BACKEND, Backend) == "hooked"
    assert other.structure(V4_BACKEND, Backend) == structure("v0.4", V4_BACKEND)
    assert make_converter("v0.4").structure(V4_BACKEND, Backend).name == "qpu.aria-1"
    lenient, strict = make_converter("v0.4"), make_converter("v0.4", strict=True)
    assert lenient.structure({**V4_BACKEND, "new": 1}, Backend).extra == {"new": 1}
    with pytest.raises(ResponseValidationError, match=r"\$\.new: unknown field"):
        strict.structure({**V4_BACKEND, "new": 1}, Backend)


def test_unknown_api_version_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"v0\.5"):
        make_converter("v0.5")


# Characterizations

V3_CHARACTERIZATION = {
    "id": "617a1f8b-59d4-435d-aa33-695433d7155e",
    "date": 1490932820,
    "backend": "qpu.aria-1",
    "qubits": 25,
    "connectivity": [[0, 1], [0, 2], [10, 9]],
    "fidelity": {
        "1q": {"mean": 0.9998, "stderr": 2e-05},
        "2q": {"mean": 0.9863, "stderr": 0.0011},
        "spam": {"mean": 0.9939, "stderr": None},
    },
    "timing": {"t1": 100, "t2": 1, "1q": 1e-05, "2q": 0.00013, "readout": 0.0003, "reset": 2e-05},
}
V4_CHARACTERIZATION = {
    **V3_CHARACTERIZATION,
    "date": "2025-06-16T00:00:00Z",
    "fidelity": {
        "1q": {"median": 0.9998, "stderr": 2e-05},
        "2q": {"median": 0.9863, "stderr": 0.0011},
        "spam": {"median": 0.9962, "stderr": None},
    },
    "timing": {"readout": 0, "reset": 0.00002},
}


def test_v03_characterization() -> None:
    item = structure("v0.3", V3_CHARACTERIZATION, Characterization)
    assert item.id == "617a1f8b-59d4-435d-aa33-695433d7155e"
    assert item.date == datetime.fromtimestamp(1490932820, UTC)
    assert item.connectivity == ((0, 1), (0, 2), (10, 9))
    assert item.fidelity["2q"].value == 0.9863
    assert item.fidelity["2q"].statistic == "mean"
    assert item.fidelity["spam"].stderr is None
    assert item.timing.one_qubit == 1e-05  # a cattrs `int` field would have made this 0
    assert item.timing.two_qubit == 0.00013
    assert isinstance(item.timing.t1, float)


def test_v04_characterization_median_and_partial_timing() -> None:
    item = structure("v0.4", V4_CHARACTERIZATION, Characterization)
    assert item.date == datetime(2025, 6, 16, tzinfo=UTC)
    assert item.fidelity["spam"].statistic == "median"
    assert item.fidelity["spam"].value == 0.9962
    assert item.timing.readout == 0.0
    assert item.timing.t1 is None


def test_new_fidelity_keys_and_timing_keys_are_kept() -> None:
    data = {**V4_CHARACTERIZATION, "fidelity": {"3q": {"median": 0.9}},
            "timing": {"shuttle": 0.001}, "noise": 1}  # fmt: skip
    item = structure("v0.4", data, Characterization)
    assert item.fidelity["3q"].value == 0.9
    assert item.timing.extra == {"shuttle": 0.001}
    assert item.extra == {"noise": 1}


def test_characterization_page_null_and_wrong_items() -> None:
    empty = structure("v0.4", {"characterizations": None, "pages": 0}, CharacterizationPage)
    assert empty.characterizations == ()
    assert empty.pages == 0
    bad = {"characterizations": [V4_CHARACTERIZATION, {**V4_CHARACTERIZATION,
           "fidelity": {"1q": {"median": "high"}}, "connectivity": [[0]]}]}  # fmt: skip
    assert problems("v0.4", bad, CharacterizationPage, strict=True) == (
        "$.characterizations[1].connectivity[0]: expected pair of qubit indices, got [0]",
        '$.characterizations[1].fidelity["1q"].median: expected number, got "high"',
    )


@pytest.mark.parametrize(
    ("version", "status", "available"),
    [("v0.4", "available", True), ("v0.4", "unavailable", False), ("v0.4", "retired", False),
     ("v0.3", "running", True), ("v0.3", "reserved", False), ("v0.4", "being-upgraded", False)],
)  # fmt: skip
def test_is_available(version: str, status: str, available: bool) -> None:
    data = V3_BACKEND if version == "v0.3" else V4_BACKEND
    assert structure(version, {**data, "status": status}).is_available is available


# What a converter fills in, and where each problem of a page or a characterization is placed


@pytest.mark.parametrize("version", ["v0.3", "v0.4"])
def test_a_minimal_characterization_gets_empty_defaults(version: str) -> None:
    item = structure(version, {"id": "c-1"}, Characterization)
    assert (item.id, item.backend, item.date, item.qubits) == ("c-1", None, None, None)
    assert (item.timing, item.fidelity, item.connectivity) == (Timing(), {}, ())
    assert (item.extra, item.api_version) == ({}, version)
    nulls = {"id": "c-1", "timing": None, "fidelity": None, "connectivity": None}
    assert structure(version, nulls, Characterization) == item


@pytest.mark.parametrize("version", ["v0.3", "v0.4"])
def test_page_and_characterization_problems_are_placed(version: str) -> None:
    assert problems(version, [], CharacterizationPage) == ("$: expected object, got []",)
    assert problems(version, {"characterizations": 5}, CharacterizationPage) == (
        "$.characterizations: expected array, got 5",
    )
    assert problems(version, {"characterizations": {"id": "x"}}, CharacterizationPage) == (
        '$.characterizations: expected array, got {"id": "x"}',
    )
    assert problems(version, {"characterizations": [5]}, CharacterizationPage) == (
        "$.characterizations[0]: expected characterization object, got 5",
    )
    assert problems(version, {"characterizations": [], "next": 1}, CharacterizationPage,
                    strict=True) == ("$.next: unknown field",)  # fmt: skip
    page = structure(version, {"characterizations": [{"id": "a"}], "pages": 3, "next": 1},
                     CharacterizationPage)  # fmt: skip
    assert ([c.id for c in page.characterizations], page.pages) == (["a"], 3)


@pytest.mark.parametrize("version", ["v0.3", "v0.4"])
def test_datetimes_unstructure_to_iso_z(version: str) -> None:
    converter = make_converter(version)
    moment = datetime(2025, 6, 16, 1, 2, 3, tzinfo=UTC)
    assert converter.unstructure(moment) == "2025-06-16T01:02:03Z"
    unstructured = converter.unstructure(structure(version, V3_BACKEND))
    assert unstructured["last_updated"] == "2017-03-31T04:00:20Z"


@pytest.mark.parametrize("version", ["v0.3", "v0.4"])
@pytest.mark.parametrize("key", ["backend", "status"])
def test_a_required_key_that_is_null_is_refused_even_with_every_other_key_there(
    version: str, key: str
) -> None:
    full = {**V4_BACKEND, **V3_BACKEND, "noise_models": ["n"], "has_access": True,
            "kw": 1.0, "location": "x"}  # fmt: skip
    assert structure(version, full).name == "qpu.aria-1"
    assert problems(version, {**full, key: None}) == (f"$.{key}: expected string, got null",)
    del full[key]
    assert problems(version, full) == (f"$.{key}: required field missing",)


@pytest.mark.parametrize("version", list(PROFILES))
def test_target_names_the_characterizations_backend_when_backend_is_absent(version: str) -> None:
    older = structure(version, {"id": "c-1", "target": "qpu.aria-1"}, Characterization)
    assert older.backend == "qpu.aria-1" and "target" not in older.extra
    both = {"id": "c-1", "backend": "qpu.forte-1", "target": "qpu.aria-1"}
    read = structure(version, both, Characterization)
    assert read.backend == "qpu.forte-1"  # backend wins, and target is kept, not lost
    assert read.extra == {"target": "qpu.aria-1"}


@pytest.mark.parametrize("version", list(PROFILES))
def test_both_statistics_sent_are_both_kept(version: str) -> None:
    """IonQ's own v0.3 example sends `mean` and `median`: neither is dropped."""
    data = {"id": "c-1", "fidelity": {"2q": {"mean": 0.97, "median": 0.98, "stderr": 0.01}}}
    stat = structure(version, data, Characterization).fidelity["2q"]
    wanted = {"v0.3": ("mean", 0.97, {"median": 0.98}), "v0.4": ("median", 0.98, {"mean": 0.97})}
    assert (stat.statistic, stat.value, stat.extra) == wanted[version]


@pytest.mark.parametrize("version", list(PROFILES))
def test_wire_keys_named_like_the_fields_the_converter_supplies(version: str) -> None:
    """`api_version` and `extra` are the model's own: sent by the API, they are unknown keys."""
    base = V4_BACKEND if version == "v0.4" else V3_BACKEND
    data = {**base, "api_version": "v9", "extra": 1}
    backend = structure(version, data)
    assert backend.api_version == version
    assert backend.extra == {"api_version": "v9", "extra": 1}
    strict = data
    assert problems(version, strict, strict=True) == (
        "$.api_version: unknown field",
        "$.extra: unknown field",
    )
    assert problems(version, {**strict, "qubits": "x"}, strict=True) == (
        "$.api_version: unknown field",
        "$.extra: unknown field",
        '$.qubits: expected integer, got "x"',
    )


def test_problems_place_every_kind_of_failure_in_wire_keys() -> None:
    """cattrs' detailed validation, as `problems()` renders it: an unforeseen exception at its
    field, a missing key, an item of a list, renamed fields under their wire keys."""
    from cattrs.errors import (
        AttributeValidationNote,
        ClassValidationError,
        IterableValidationError,
        IterableValidationNote,
    )

    from ionq_backends._wire.converter import problems as transform

    odd, missing = OverflowError("boom"), KeyError("1q")
    odd.__notes__ = [AttributeValidationNote("at qubits", "qubits", int)]
    missing.__notes__ = [AttributeValidationNote("at one_qubit", "one_qubit", float)]
    item = ClassValidationError("While structuring Timing", [odd, missing], Timing)
    item.__notes__ = [IterableValidationNote("at index 2", 2, Timing)]
    error = IterableValidationError("While structuring a list", [item], list)
    assert transform(error) == [("[2].qubits", "OverflowError: boom"),
                                ("[2].one_qubit", "required field missing")]  # fmt: skip
    assert transform(item, {"one_qubit": "1q"}) == [
        (".qubits", "OverflowError: boom"),
        ('["1q"]', "required field missing"),
    ]
