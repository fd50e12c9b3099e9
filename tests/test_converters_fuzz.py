"""Hypothesis: any JSON gives a model or a ResponseValidationError, nothing else."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionq_backends import (
    Backend,
    Characterization,
    CharacterizationPage,
    ResponseValidationError,
    make_converter,
)

CONVERTERS = [make_converter(v, strict=s) for v in ("v0.3", "v0.4") for s in (False, True)]
TARGETS: list[Any] = [Backend, list[Backend], Characterization, CharacterizationPage]

KEYS = st.sampled_from(
    ["backend", "status", "qubits", "average_queue_time", "last_updated", "degraded",
     "characterization_url", "characterization_id", "kw", "location", "supported_gates",
     "noise_models", "has_access", "id", "date", "connectivity", "fidelity", "timing", "1q",
     "2q", "spam", "mean", "median", "stderr", "t1", "readout", "characterizations", "pages"]
) | st.text(max_size=5)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["available", "running", "2025-06-16T00:00:00Z", "/characterizations/x"])
    # The edges of every number check, often enough to meet each field on every run.
    | st.sampled_from([math.nan, math.inf, -math.inf, 2**53, 2**53 + 1, -(2**53) - 1, 5, 5.0])
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(data=JSON, converter=st.sampled_from(CONVERTERS), target=st.sampled_from(TARGETS))
def test_any_json_gives_a_model_or_a_validation_error(
    data: Any, converter: Any, target: Any
) -> None:
    try:
        result = converter.structure(data, target)
    except ResponseValidationError as error:
        assert error.errors
        assert all(message.startswith("$") for message in error.errors)
    else:
        expected = list if target == list[Backend] else target
        assert isinstance(result, expected)


GATES = st.lists(st.text(max_size=3), max_size=4) | st.lists(SCALARS, max_size=3) | SCALARS
BACKENDISH = st.fixed_dictionaries(
    {"backend": st.text(max_size=10), "status": st.text(max_size=10)},
    optional={
        **dict.fromkeys(
            ["qubits", "average_queue_time", "last_updated", "degraded", "kw",
             "characterization_url", "characterization_id"],
            SCALARS,
        ),
        **dict.fromkeys(["supported_gates", "noise_models"], GATES),
    },
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(data=BACKENDISH, converter=st.sampled_from(CONVERTERS))
def test_backend_shaped_json_gives_a_backend_or_a_validation_error(
    data: Any, converter: Any
) -> None:
    try:
        backend = converter.structure(data, Backend)
    except ResponseValidationError as error:
        assert error.errors
    else:
        assert backend.name == data["backend"]


def _walked(version: str, strict: bool) -> Any:
    from ionq_backends._wire import profile_for
    from ionq_backends._wire.parse import Table
    from ionq_backends._wire.parse import walk as _walk

    table = Table(profile_for(version).backend_fields(strict), frozenset({"backend", "status"}))

    def walk(obj: Any) -> Backend:
        kwargs, extra = _walk(obj, table, strict, "backend object")
        return Backend(**kwargs, extra=extra, api_version=version)

    return table, walk


@settings(max_examples=500, deadline=None)
@given(
    data=BACKENDISH | st.dictionaries(KEYS, SCALARS, max_size=8) | JSON,
    version=st.sampled_from(["v0.3", "v0.4"]),
    strict=st.booleans(),
)
def test_generated_backend_structurer_agrees_with_the_walk(
    data: Any, version: str, strict: bool
) -> None:
    from ionq_backends._wire.converter import compile_backend as _compile_backend
    from ionq_backends._wire.parse import Invalid as _Invalid

    table, walk = _walked(version, strict)
    fast = _compile_backend(table, version, strict, walk)
    try:
        expected = walk(data)
    except _Invalid as invalid:
        try:
            fast(data)
        except _Invalid as also:
            assert also.problems == invalid.problems
        else:
            raise AssertionError("the generated path accepted what the walk refuses") from None
    else:
        got = fast(data)
        assert got == expected
        assert repr(got) == repr(expected)  # 5.0 is no 5, a tuple no list
        assert type(got.status) is type(expected.status)
        assert got.extra == expected.extra


EDGES = [math.nan, math.inf, -math.inf, 2**53, 2**53 + 1, -(2**53) - 1, 5, 5.0, -0.0, True,
         False, None, "", "x", "2025-06-16T00:00:00Z", [], ["a"], ["a", 1], [None], {}]  # fmt: skip


@pytest.mark.parametrize("version", ["v0.3", "v0.4"])
@pytest.mark.parametrize("strict", [False, True])
def test_generated_structurer_agrees_with_the_walk_on_every_fields_edges(
    version: str, strict: bool
) -> None:
    """Each known key alone at each edge of the inline checks, the rest of the object valid
    (where another key also fails, the generated code hands over to the walk anyway)."""
    from ionq_backends._wire.converter import compile_backend as _compile_backend
    from ionq_backends._wire.parse import Invalid as _Invalid

    table, walk = _walked(version, strict)
    fast = _compile_backend(table, version, strict, walk)
    for name in table.plan:
        for value in EDGES:
            data = {"backend": "qpu.x", "status": "available", name: value}
            try:
                expected: Any = repr(walk(data))
            except _Invalid as invalid:
                expected = invalid.problems
            try:
                got: Any = repr(fast(data))
            except _Invalid as invalid:
                got = invalid.problems
            assert got == expected, (name, value)
