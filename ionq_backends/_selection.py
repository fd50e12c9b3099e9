"""Choosing backends from a snapshot: filters and a deterministic order (pure, no I/O).

Every filter is one condition, and a backend is kept only if it meets all of them. Every field
may be `None` and every status may be a string `BackendStatus` does not know: an unknown value
never meets a condition that needs it (`min_qubits` drops a backend of unknown size), and never
sorts first (an unknown queue time sorts last).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeAlias

from ._models import Backend

__all__ = ["OrderBy", "least_busy", "select"]

OrderBy: TypeAlias = Literal["queue_time", "qubits", "name"] | Callable[[Backend], Any] | None
Backends: TypeAlias = Mapping[str, Backend] | Iterable[Backend]


def known(value: float | None) -> float | None:
    """`value`, or `None` when it is missing or not a number (a NaN must not break an order)."""
    return None if value is None or math.isnan(value) else value


def _by_queue(backend: Backend) -> tuple[bool, float, bool, int, str]:
    queue = known(backend.average_queue_time)
    qubits = backend.qubits
    return (queue is None, queue or 0.0, qubits is None, -(qubits or 0), backend.name)


def _by_qubits(backend: Backend) -> tuple[bool, int, bool, float, str]:
    queue = known(backend.average_queue_time)
    qubits = backend.qubits
    return (qubits is None, -(qubits or 0), queue is None, queue or 0.0, backend.name)


def _by_name(backend: Backend) -> tuple[str, bool, float]:
    queue = known(backend.average_queue_time)
    return (backend.name, queue is None, queue or 0.0)


_ORDERS: dict[str, Callable[[Backend], Any]] = {
    "queue_time": _by_queue,
    "qubits": _by_qubits,
    "name": _by_name,
}


def order(backends: Iterable[Backend], order_by: OrderBy = "queue_time") -> list[Backend]:
    """`backends` sorted as `select()` sorts them (see there); `None` keeps their order."""
    items = list(backends)
    if order_by is None:
        return items
    if callable(order_by):
        # Ties under the caller's key fall back to the queue order, so the result never depends
        # on the order the backends came in.
        return sorted(sorted(items, key=_by_queue), key=order_by)
    if order_by not in _ORDERS:
        choices = ", ".join(map(repr, _ORDERS))
        raise ValueError(f"order_by must be {choices}, a callable or None, got {order_by!r}")
    return sorted(items, key=_ORDERS[order_by])


def _strings(values: Iterable[str] | None, what: str) -> frozenset[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        raise TypeError(f"{what} must be an iterable of strings, not one string")
    return frozenset(str(v) for v in values)


def backend_list(backends: Backends) -> list[Backend]:
    """The backends of a mapping (its values) or of an iterable."""
    if isinstance(backends, Mapping):
        return list(backends.values())
    return list(backends)


def select(
    backends: Backends,
    *,
    available: bool = True,
    include_degraded: bool = False,
    min_qubits: int | None = None,
    statuses: Iterable[str] | None = None,
    names: Iterable[str] | None = None,
    qpu_only: bool = False,
    order_by: OrderBy = "queue_time",
) -> list[Backend]:
    """The backends of `backends` (a `BackendsSnapshot`, any mapping or iterable) that pass.

    Filters, each of which a kept backend meets:

    - `available`: it runs jobs now (status `available`, or verbose `running`; a `degraded`
      status counts too, but is dropped unless `include_degraded`);
    - `include_degraded=False`: it is not degraded (`degraded: true` or status `degraded`; an
      unknown `degraded` is taken as not degraded, since the API often leaves it out);
    - `min_qubits`: it has at least that many qubits (an unknown count never does);
    - `statuses`: its status is one of these strings (known or not);
    - `names`: its name is one of these;
    - `qpu_only`: it is hardware, named `qpu.*` (IonQ's simulators are not).

    `order_by` (ties broken in this order, so the result is the same however the input was
    ordered):

    - `"queue_time"` (default): shortest queue first, unknown queue last; then more qubits
      (unknown last); then name;
    - `"qubits"`: most qubits first, unknown last; then shortest queue; then name;
    - `"name"`: by name, then shortest queue;
    - a callable: its key, ascending; ties in the `"queue_time"` order;
    - `None`: the input order.

    Names are unique in a snapshot; two backends of one name that tie keep their input order.
    """
    wanted_statuses = _strings(statuses, "statuses")
    wanted_names = _strings(names, "names")
    kept = []
    for backend in backend_list(backends):
        if available and not backend.runs_jobs:
            continue
        if not include_degraded and backend.is_degraded:
            continue
        if min_qubits is not None and (backend.qubits is None or backend.qubits < min_qubits):
            continue
        if wanted_statuses is not None and str(backend.status) not in wanted_statuses:
            continue
        if wanted_names is not None and backend.name not in wanted_names:
            continue
        if qpu_only and not backend.name.startswith("qpu."):
            continue
        kept.append(backend)
    return order(kept, order_by)


def least_busy(
    backends: Backends,
    *,
    available: bool = True,
    include_degraded: bool = False,
    min_qubits: int | None = None,
    statuses: Iterable[str] | None = None,
    names: Iterable[str] | None = None,
    qpu_only: bool = False,
) -> Backend | None:
    """The backend with the shortest queue among those `select()` keeps; `None` if none is left.

    Ties go to more qubits, then to the name that sorts first. A backend whose queue time is
    unknown is chosen only when no other is left.
    """
    chosen = select(
        backends,
        available=available,
        include_degraded=include_degraded,
        min_qubits=min_qubits,
        statuses=statuses,
        names=names,
        qpu_only=qpu_only,
        order_by="queue_time",
    )
    return chosen[0] if chosen else None
