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
from ionq_backends._wire import hooks

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


# Each Backend field alone at each edge of its hook, the rest of the object valid: the converter
# gives what the field's own leaf hook gives, under the field's wire key. This checks that cattrs'
# generated function reaches the right hook, with the right key, for every field.

EDGES = [math.nan, math.inf, -math.inf, 2**53, 2**53 + 1, -(2**53) - 1, 5, 5.0, -0.0, True,
         False, None, "", "x", ".", "2025-06-16T00:00:00Z", "/characterizations/u", [], ["a"],
         ["a", 1], [None], {}]  # fmt: skip
FIELDS: dict[str, tuple[str, Any]] = {  # wire key -> (attribute, leaf hook)
    "qubits": ("qubits", hooks.integer),
    "average_queue_time": ("average_queue_time", hooks.number),
    "last_updated": ("last_updated", hooks.when),
    "degraded": ("degraded", hooks.boolean),
    "has_access": ("has_access", hooks.boolean),
    "noise_models": ("noise_models", hooks.strings),
    "characterization_id": ("characterization_id", hooks.link_id),
    "characterization_url": ("characterization_id", hooks.id_from_url),
    "kw": ("kw", hooks.number),
    "location": ("location", hooks.string),
    "supported_gates": ("supported_gates", hooks.strings),
}
ONLY_V04 = {"kw", "location", "supported_gates"}


@pytest.mark.parametrize("version", ["v0.3", "v0.4"])
@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("key", list(FIELDS))
def test_every_field_reads_as_its_leaf_hook_at_every_edge(
    version: str, strict: bool, key: str
) -> None:
    converter = make_converter(version, strict=strict)
    attribute, leaf = FIELDS[key]
    for value in EDGES:
        data = {"backend": "qpu.x", "status": "available", key: value}
        if version == "v0.3" and key in ONLY_V04:  # a key v0.3 does not send is unknown there
            if strict:
                with pytest.raises(ResponseValidationError) as caught:
                    converter.structure(data, Backend)
                assert caught.value.problems == ((f".{key}", "unknown field"),)
            else:
                assert converter.structure(data, Backend).extra == {key: value}
            continue
        if value is None:  # every field here is optional: null reads as None
            assert getattr(converter.structure(data, Backend), attribute) is None
            continue
        try:
            expected: Any = leaf(value, str | None)
        except hooks.Invalid as invalid:
            if not strict:  # a bad optional field costs only that field: absent, kept in extra
                lenient = converter.structure(data, Backend)
                assert getattr(lenient, attribute) is None and lenient.extra == {key: value}
                continue
            with pytest.raises(ResponseValidationError) as caught:
                converter.structure(data, Backend)
            assert caught.value.problems == tuple((f".{key}" + p, m) for p, m in invalid.problems)
        else:
            got = getattr(converter.structure(data, Backend), attribute)
            assert repr(got) == repr(expected), (key, value)  # 5.0 is no 5, a tuple no list
