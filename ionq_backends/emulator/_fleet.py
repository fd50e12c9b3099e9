"""The emulator's state (pure, no I/O): the fleet in Python terms, rendered per API version.

State is kept in Python terms (datetimes, v0.4 status words, milliseconds of queue time) and
rendered per request by `_versions`, so every version always describes the same fleet.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import attrs

__all__ = ["KNOWN_FIELDS", "OMIT", "Machine", "default_fleet"]


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


OMIT: Final[Any] = _Omit()
"""Set a field to `OMIT` to leave its key out of the wire (the live API sometimes does)."""

# Keys set_backend() understands; any other keyword becomes an extra wire key in both versions.
KNOWN_FIELDS: Final = frozenset(
    {
        "status",
        "verbose_status",
        "qubits",
        "average_queue_time",
        "last_updated",
        "degraded",
        "characterization_id",
        "kw",
        "location",
        "supported_gates",
        "supported_native_gates",
        "supported_error_mitigations",
        "noise_models",
        "characterizations",
    }
)
_GATES = [
    "x", "y", "z", "h", "s", "si", "t", "ti", "v", "vi",
    "rx", "ry", "rz", "cnot", "swap", "xx", "yy", "zz", "not",
]  # fmt: skip
_NAMESPACE = uuid.UUID("6f1d2c2e-6c54-4a55-9a0b-1f2a3b4c5d6e")


@attrs.define
class Machine:
    """One backend of the emulated fleet; `fields` holds its state, `extra` raw wire keys."""

    name: str
    fields: dict[str, Any]
    extra: dict[str, Any] = attrs.field(factory=dict)
    # Encoded answers by (version, verbose, has_key): a backend is read far more often than changed.
    _encoded: dict[tuple[str, bool, bool], bytes] = attrs.field(
        factory=dict, init=False, repr=False
    )

    def update(self, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            (self.fields if key in KNOWN_FIELDS else self.extra)[key] = value
        self._encoded.clear()

    def encoded(self, key: tuple[str, bool, bool], render: Callable[[], Any]) -> bytes:
        """`render()` as JSON bytes, encoded once per `key` until the next change."""
        found = self._encoded.get(key)
        if found is None:
            found = self._encoded[key] = json.dumps(render(), separators=(",", ":")).encode()
        return found

    @property
    def characterizations(self) -> list[dict[str, Any]]:
        """Newest first."""
        found = self.fields.get("characterizations")
        return found if isinstance(found, list) else []

    def characterization_id(self) -> Any:
        explicit = self.fields.get("characterization_id")
        if explicit is not None:
            return explicit
        items = self.characterizations
        return items[0]["id"] if items else OMIT


def _all_to_all(qubits: int) -> list[list[int]]:
    return [[a, b] for a in range(qubits) for b in range(a + 1, qubits)]


def make_characterizations(
    name: str,
    qubits: int,
    count: int,
    *,
    newest: datetime,
    fidelity: dict[str, float],
    timing: dict[str, float],
    stderr_1q: Any = 2e-05,
) -> list[dict[str, Any]]:
    """`count` daily characterizations, newest first, with small day-to-day drift. An empty
    `fidelity` or `timing` is sent empty (`{}`), as live captures of old machines show."""
    connectivity = _all_to_all(qubits)
    items = []
    for day in range(count):
        wobble = ((day * 7) % 5 - 2) * 1e-4  # deterministic, within a realistic spread
        items.append(
            {
                "id": str(uuid.uuid5(_NAMESPACE, f"{name}/{day}")),
                "backend": name,
                "date": newest - timedelta(days=day),
                "qubits": qubits,
                "connectivity": connectivity,
                "fidelity": {
                    "1q": (round(fidelity["1q"] - abs(wobble) / 10, 5), stderr_1q),
                    "2q": (round(fidelity["2q"] + wobble, 4), 0.0011),
                    # The live API sends `stderr: null` for spam.
                    "spam": (round(fidelity["spam"] - abs(wobble), 4), None),
                }
                if fidelity
                else {},
                "timing": dict(timing),
            }
        )
    return items


def _machine(
    name: str,
    *,
    status: str,
    qubits: int,
    queue_ms: float,
    location: str,
    kw: float,
    age: timedelta,
    now: datetime,
    characterizations: Iterable[dict[str, Any]] = (),
    **more: Any,
) -> Machine:
    fields: dict[str, Any] = {
        "status": status,
        "qubits": qubits,
        "average_queue_time": queue_ms,
        "last_updated": now - age,
        "degraded": False,
        "kw": kw,
        "location": location,
        "supported_gates": list(_GATES),
        "supported_native_gates": ["gpi", "gpi2", "ms"]
        if not name.startswith("qpu.forte") and name != "qpu.tempo-1"
        else ["gpi", "gpi2", "zz"],
        "supported_error_mitigations": ["debiasing"] if name != "simulator" else [],
        "characterizations": list(characterizations),
    }
    fields.update(more)
    return Machine(name, fields)


def default_fleet(now: datetime | None = None) -> dict[str, Machine]:
    """A realistic fleet: the six BackendNames, tempo, a retired harmony and the simulator.

    Queue times are in milliseconds; timings in seconds, as floats (the live API's 1e-05).
    """
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    midnight = now.replace(hour=0, minute=0, second=0)
    aria = {"1q": 0.9998, "2q": 0.9863, "spam": 0.9939}
    forte = {"1q": 0.9998, "2q": 0.9946, "spam": 0.9961}
    tempo = {"1q": 0.99985, "2q": 0.9966, "spam": 0.9972}
    aria_timing = {"t1": 100.0, "t2": 1.0, "1q": 0.000135, "2q": 0.0006, "readout": 0.0003,
                   "reset": 2e-05}  # fmt: skip
    forte_timing = {"t1": 100.0, "t2": 1.0, "1q": 0.00013, "2q": 0.00097, "readout": 0.00015,
                    "reset": 1e-05}  # fmt: skip

    def chars(name: str, qubits: int, count: int, fid: dict[str, float],
              timing: dict[str, float], **more: Any) -> list[dict[str, Any]]:  # fmt: skip
        return make_characterizations(
            name, qubits, count, newest=midnight, fidelity=fid, timing=timing, **more
        )

    machines = [
        _machine("qpu.aria-1", status="available", qubits=25, queue_ms=1_181_215,
                 location="College Park, MD, USA", kw=4902.81, age=timedelta(minutes=3),
                 now=now, characterizations=chars("qpu.aria-1", 25, 23, aria, aria_timing)),
        _machine("qpu.aria-2", status="unavailable", qubits=25, queue_ms=0,
                 location="College Park, MD, USA", kw=4871.2, age=timedelta(minutes=41),
                 now=now, verbose_status="calibrating",
                 characterizations=chars("qpu.aria-2", 25, 12, aria, aria_timing)),
        _machine("qpu.forte-1", status="available", qubits=36, queue_ms=12_240_000,
                 location="Seattle, WA, USA", kw=6120.5, age=timedelta(minutes=1),
                 now=now, characterizations=chars("qpu.forte-1", 36, 12, forte, forte_timing)),
        _machine("qpu.forte-enterprise-1", status="available", qubits=36, queue_ms=540_000,
                 location="Seattle, WA, USA", kw=6230.0, age=timedelta(minutes=2), now=now,
                 characterizations=chars("qpu.forte-enterprise-1", 36, 12, forte, forte_timing)),
        _machine("qpu.forte-enterprise-2", status="available", qubits=36, queue_ms=2_700_000,
                 location="Seattle, WA, USA", kw=6198.4, age=timedelta(minutes=7), now=now,
                 degraded=True, verbose_status="reserved",
                 characterizations=chars("qpu.forte-enterprise-2", 36, 12, forte, forte_timing)),
        _machine("qpu.forte-enterprise-3", status="unavailable", qubits=36, queue_ms=0,
                 location="Seattle, WA, USA", kw=0.0, age=timedelta(hours=5), now=now,
                 characterizations=chars("qpu.forte-enterprise-3", 36, 12, forte, forte_timing)),
        # 100 qubits, as qiskit-ionq's 2026 fixture records; its 1q statistic comes without a
        # `stderr` key, as live captures show.
        _machine("qpu.tempo-1", status="available", qubits=100, queue_ms=86_400_000,
                 location="Seattle, WA, USA", kw=7010.9, age=timedelta(minutes=4), now=now,
                 characterizations=chars("qpu.tempo-1", 100, 12, tempo, forte_timing,
                                         stderr_1q=OMIT)),
        # A retired machine's old records: `fidelity: {}` and `timing: {}`, as captured.
        _machine("qpu.harmony", status="retired", qubits=11, queue_ms=0,
                 location="College Park, MD, USA", kw=0.0, age=timedelta(days=400), now=now,
                 characterizations=chars("qpu.harmony", 11, 3, {}, {})),
        _machine("simulator", status="available", qubits=29, queue_ms=20.0,
                 location="Cloud", kw=0.0, age=timedelta(seconds=30), now=now,
                 noise_models=["ideal", "harmony", "aria-1", "aria-2", "forte-1",
                               "forte-enterprise-1"]),
    ]  # fmt: skip
    return {m.name: m for m in machines}
