"""Prometheus metrics: what each gauge says is decided here from the fleet state (pure), and
`Metrics` holds one CollectorRegistry per app, never prometheus-client's global one."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import NamedTuple

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from .._humanize import encodable
from .._json import to_json
from .._models import BackendsSnapshot
from ._constants import ROUND_BUCKETS
from ._state import FleetState, queue_seconds

__all__ = ["GAUGES", "Metrics", "Sample", "fleet_samples"]


class Sample(NamedTuple):
    """One value of one metric family."""

    metric: str
    labels: dict[str, str]
    value: float


# name: (help, label names); ionq_backend is an info metric (rendered ionq_backend_info).
GAUGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ionq_backend_up": (
        "1 when the backend is known to be available now: its latest fetch succeeded, recently, "
        "and said available (or verbose running). 0 when it said otherwise, or is stale.",
        ("backend",),
    ),
    "ionq_backend_stale": (
        "1 when the backend's value is not known now (its latest fetch failed, or none has "
        "succeeded recently): its other gauges are from its last good fetch, if any.",
        ("backend",),
    ),
    "ionq_backend_queue_seconds": (
        "Average queue time the API reports, in seconds (its unit read as milliseconds).",
        ("backend",),
    ),
    "ionq_backend_qubits": ("Qubits the API reports.", ("backend",)),
    "ionq_backend_degraded": (
        "1 when the API says the backend is degraded (its flag or its status).",
        ("backend",),
    ),
    "ionq_backend": (
        "The backend's status and API version as labels; the value is always 1.",
        ("backend", "status", "api_version"),
    ),
    "ionq_backend_last_success_timestamp_seconds": (
        "Unix time of the last round that fetched the backend.",
        ("backend",),
    ),
    "ionq_characterization_fidelity": (
        "Latest characterization's fidelity (median on v0.4, mean on v0.3) by kind.",
        ("backend", "kind"),
    ),
    "ionq_characterization_age_seconds": (
        "Seconds since the latest characterization was taken.",
        ("backend",),
    ),
    "ionq_poll_last_round_timestamp_seconds": ("Unix time the last polling round ended.", ()),
    "ionq_poll_stale_after_seconds": (
        "Seconds without a successful read after which a backend is stale, and without an "
        "ended round after which the monitor is stalled (3 intervals plus the timeout).",
        (),
    ),
}


def fleet_samples(state: FleetState, now: datetime) -> list[Sample]:
    """Every gauge value the state supports now; a value the API left out is left out too."""
    out: list[Sample] = []
    for view in state.views.values():
        name = encodable(view.name)  # a label must be UTF-8; a name from the API need not be
        b = view.backend
        labels = {"backend": name}
        fresh = view.fresh(now, state.stale_after)
        out.append(Sample("ionq_backend_up", labels, float(fresh and b is not None
                                                          and b.is_available)))  # fmt: skip
        out.append(Sample("ionq_backend_stale", labels, float(not fresh)))
        if b is not None:
            queue = queue_seconds(b)
            if queue is not None:
                out.append(Sample("ionq_backend_queue_seconds", labels, queue))
            if b.qubits is not None:
                out.append(Sample("ionq_backend_qubits", labels, float(b.qubits)))
            degraded = b.degraded_or_unknown  # the status counts, as in select()
            if degraded is not None:
                out.append(Sample("ionq_backend_degraded", labels, float(degraded)))
            info = {"backend": name, "status": encodable(str(to_json(b.status))),
                    "api_version": b.api_version}  # fmt: skip
            out.append(Sample("ionq_backend", info, 1.0))
        if view.seen_at is not None:
            out.append(Sample("ionq_backend_last_success_timestamp_seconds", labels,
                              view.seen_at.timestamp()))  # fmt: skip
        c = view.characterization
        if c is not None:
            for kind, stat in sorted(c.fidelity.items()):
                if stat.value is not None:
                    out.append(Sample("ionq_characterization_fidelity",
                                      {"backend": name, "kind": kind}, stat.value))  # fmt: skip
            if c.date is not None:
                age = (now - c.date).total_seconds()
                out.append(Sample("ionq_characterization_age_seconds", labels, age))
    if state.last_round_ended is not None:
        out.append(Sample("ionq_poll_last_round_timestamp_seconds", {},
                          state.last_round_ended.timestamp()))  # fmt: skip
    if math.isfinite(state.stale_after):
        out.append(Sample("ionq_poll_stale_after_seconds", {}, state.stale_after))
    return out


class _FleetCollector(Collector):
    """Renders the fleet state at scrape time: a backend that goes leaves no stale series."""

    def __init__(self, state: FleetState, now: Callable[[], datetime]) -> None:
        self._state = state
        self._now = now

    def _families(self) -> dict[str, GaugeMetricFamily | InfoMetricFamily]:
        families: dict[str, GaugeMetricFamily | InfoMetricFamily] = {}
        for metric, (text, labels) in GAUGES.items():
            if metric == "ionq_backend":
                families[metric] = InfoMetricFamily(metric, text, labels=list(labels))
            else:
                families[metric] = GaugeMetricFamily(metric, text, labels=list(labels))
        return families

    def describe(self) -> Iterator[Metric]:
        return iter(self._families().values())

    def collect(self) -> Iterator[Metric]:
        families = self._families()
        for sample in fleet_samples(self._state, self._now()):
            family = families[sample.metric]
            if isinstance(family, InfoMetricFamily):
                family.add_metric([], sample.labels)
            else:
                family.add_metric(list(sample.labels.values()), sample.value)
        return iter(families.values())


class Metrics:
    """One app's registry: the fleet gauges, poll errors, round durations, history writes."""

    def __init__(self, state: FleetState, *, now: Callable[[], datetime] | None = None) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_FleetCollector(state, now or (lambda: datetime.now(UTC))))
        self.poll_errors = Counter(
            "ionq_poll_errors",
            "Failed fetches of a backend, one per backend per round, by error type.",
            ["backend", "error"],
            registry=self.registry,
        )
        self.round_duration = Histogram(
            "ionq_poll_round_duration_seconds",
            "Wall time of one polling round (the concurrent fan-out over the fleet).",
            buckets=ROUND_BUCKETS,
            registry=self.registry,
        )
        self.history_write_errors = Counter(
            "ionq_history_write_errors",
            "Rounds not written to the history, by reason (an exception type, or backlog).",
            ["reason"],
            registry=self.registry,
        )
        self._error_kinds: dict[str, set[str]] = {}  # backend -> error labels it has
        self.sse_clients = Gauge(
            "ionq_sse_clients",
            "Live pages connected by server-sent events.",
            registry=self.registry,
        )

    def observe_round(self, snapshot: BackendsSnapshot, duration: float) -> None:
        self.round_duration.observe(duration)
        for name, error in snapshot.errors.items():
            kind = type(error).__name__
            self.poll_errors.labels(backend=encodable(name), error=kind).inc()
            self._error_kinds.setdefault(name, set()).add(kind)

    def forget(self, name: str) -> None:
        """Drop every series of `name` (gone from the fleet): /metrics stays as large as the
        fleet, however its names churn. The gauges follow the state by themselves."""
        for kind in self._error_kinds.pop(name, ()):
            self.poll_errors.remove(encodable(name), kind)
