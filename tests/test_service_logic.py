"""The fleet monitor's pure logic, without sockets: durations, fleet state, health, history rows,
downsampling steps and what each Prometheus gauge says."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ionq_backends import (
    BackendChange,
    BackendStatus,
    Characterization,
    NotFoundError,
    ServerError,
)
from ionq_backends.service._constants import (
    CHARACTERIZATION_MIN_REFRESH,
    CHARACTERIZATION_RETRY,
    MAX_POINTS,
    ROUND_BUCKETS,
)
from ionq_backends.service._durations import parse_duration, parse_instant, parse_interval
from ionq_backends.service._history import (
    SeriesRow,
    bucket_of,
    choose_step,
    event_json,
    event_rows,
    sample_rows,
    series_json,
)
from ionq_backends.service._metrics import GAUGES, Metrics, fleet_samples
from ionq_backends.service._state import ErrorInfo, FleetState, Health, iso

from . import factories
from .factories import fleet_backend as backend
from .factories import server_error, snapshot

T0 = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)


# Durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30d", 30 * 86400), ("12h", 43200), ("90m", 5400), ("45s", 45), ("2w", 1209600),
     ("1d12h", 129600), (" 1.5h ", 5400), ("1D", 86400), ("1d 12h", 129600), ("0.5s", 0.5)],
)  # fmt: skip
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["30", "", "d", "-1d", "0d", "1y", "1d-2h", "nan", "1e3d"])
def test_parse_duration_refuses_what_is_not_one(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_parse_interval_takes_seconds_or_a_duration() -> None:
    assert parse_interval("0.05") == 0.05
    assert parse_interval("1m") == 60
    for bad in ("0", "-1", "inf", "nan", "soon"):
        with pytest.raises(ValueError, match=r"interval|duration"):
            parse_interval(bad)


def test_parse_instant_iso_or_unix_seconds_in_utc() -> None:
    assert parse_instant("2026-11-21T12:00:00Z") == T0
    assert parse_instant("2026-11-21T13:00:00+01:00") == T0
    assert parse_instant("2026-11-21T12:00:00") == T0  # naive is UTC
    assert parse_instant(str(T0.timestamp())) == T0
    assert parse_instant("2026-11-21T12:00:00z") == T0  # a lower-case zone letter
    for bad in ("yesterday", "1e400", "nan", "2026-13-01"):
        with pytest.raises(ValueError, match=r"^expected an ISO-8601 time") as raised:
            parse_instant(bad)
        assert str(raised.value) == f"expected an ISO-8601 time or Unix seconds, got {bad!r}"
    with pytest.raises(ValueError, match=r"^time out of range") as raised:
        parse_instant(" 1e20")
    assert str(raised.value) == "time out of range: ' 1e20'"


def test_parse_instant_is_utc_whatever_the_machines_time_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # a server not kept in UTC
    time.tzset()
    try:
        for text in ("2026-11-21T12:00:00", "2026-11-21T21:00:00+09:00", "2026-11-21T12:00:00Z"):
            moment = parse_instant(text)
            assert (moment, moment.tzinfo) == (T0, UTC), text
    finally:
        monkeypatch.undo()
        time.tzset()


# Fleet state


def test_round_sets_views_errors_and_keeps_the_last_good_value() -> None:
    state = FleetState(["qpu.aria-1", "qpu.forte-1"])
    state.apply_round(snapshot(backend(), backend("qpu.forte-1")), T0, 0.2)
    assert state.rounds == 1
    assert state.last_round_ended == T0 + timedelta(seconds=0.2)
    later = T0 + timedelta(minutes=1)
    state.apply_round(snapshot(backend(), errors={"qpu.forte-1": server_error()}), later, 0.1)
    forte = state.views["qpu.forte-1"]
    assert forte.backend is not None  # last good value kept
    assert forte.seen_at == T0
    assert forte.error is not None and forte.error.type == "ServerError"
    assert forte.error.status_code == 503
    assert forte.error_since == later
    assert forte.failed_rounds == 1
    even_later = later + timedelta(minutes=1)
    state.apply_round(snapshot(backend(), errors={"qpu.forte-1": server_error()}), even_later, 0.1)
    assert forte.error_since == later  # the same error goes on
    assert forte.failed_rounds == 2
    state.apply_round(snapshot(backend(), backend("qpu.forte-1")), even_later, 0.1)
    assert forte.error is None and forte.failed_rounds == 0
    assert forte.last_error is not None  # still shown as "recovered from"
    row = state.to_json(even_later, 60.0)["backends"][1]
    assert row["error"] is None and row["last_error"]["type"] == "ServerError"


def test_fleet_json_has_what_the_page_shows() -> None:
    state = FleetState(["qpu.aria-1", "qpu.new"])
    state.apply_round(snapshot(backend(degraded=True)), T0, 0.5)
    body = state.to_json(T0, 30.0)
    json.dumps(body)  # JSON-ready
    aria, new = body["backends"]
    assert aria == aria | {
        "name": "qpu.aria-1",
        "status": "available",
        "available": True,
        "qubits": 25,
        "queue_seconds": 90.0,  # 90,000 ms
        "degraded": True,
        "seen_at": "2026-11-21T12:00:00.000Z",
        "error": None,
        "characterization": None,
    }
    assert new["status"] is None and new["seen_at"] is None  # watched, never fetched yet
    assert body["last_round"]["duration"] == 0.5


def test_health_starting_ok_failing_and_stalled() -> None:
    state = FleetState(["a", "b"])

    def health(at: datetime = T0) -> Health:
        return state.health(at, failed_rounds=3, stalled_after=60)

    assert health() == Health(False, "starting", "no polling round has finished yet")
    state.apply_round(snapshot(backend("a"), errors={"b": server_error()}), T0, 0.1)
    assert health() == Health(True, "ok", "1 rounds")  # one backend failing is fine
    everything_fails = snapshot(errors={"a": server_error(), "b": server_error()})
    for _ in range(2):
        state.apply_round(everything_fails, T0, 0.1)
        assert health().ok
    state.apply_round(everything_fails, T0, 0.1)
    assert health() == Health(False, "failing", "every backend failed the last 3 rounds")
    state.apply_round(snapshot(backend("a"), errors={"b": server_error()}), T0, 0.1)
    assert health() == Health(True, "ok", "5 rounds")  # one success resets it
    late = T0 + timedelta(seconds=0.1 + 61.4)
    assert health(late) == Health(False, "stalled", "no polling round has ended for 61 s")


def characterization(cid: str = "c-1", two_q: float = 0.99) -> Characterization:
    return factories.characterization({"2q": two_q, "spam": None}, cid=cid, qubits=None,
                                      date=T0 - timedelta(hours=20))  # fmt: skip


def test_characterization_fetched_at_start_and_when_its_id_changes() -> None:
    state = FleetState(["qpu.aria-1"])
    assert state.characterizations_due(T0) == []  # nothing fetched yet: nothing to ask about
    state.apply_round(snapshot(backend()), T0, 0.1)
    assert [b.name for b in state.characterizations_due(T0)] == ["qpu.aria-1"]
    state.characterization_started("qpu.aria-1")
    assert state.characterizations_due(T0) == []  # in flight: not asked twice
    state.set_characterization(backend(), characterization(), T0)
    assert state.characterizations_due(T0 + timedelta(days=1)) == []  # same id: never again
    state.apply_round(snapshot(backend(last_updated=T0 + timedelta(hours=1))), T0, 0.1)
    assert state.characterizations_due(T0) == []  # last_updated alone does not count with an id
    state.apply_round(snapshot(backend(characterization_id="c-2")), T0, 0.1)
    assert len(state.characterizations_due(T0)) == 1  # a new id: at once
    state.set_characterization(backend(characterization_id="c-2"), characterization("c-2"), T0)
    # The id gone: `last_updated` is the hint again, at the bounded rate.
    state.apply_round(snapshot(backend(characterization_id=None)), T0, 0.1)
    assert state.characterizations_due(T0) == []
    later = T0 + timedelta(seconds=CHARACTERIZATION_MIN_REFRESH)
    assert len(state.characterizations_due(later)) == 1


def test_characterization_without_id_follows_last_updated_at_a_bounded_rate() -> None:
    state = FleetState(["simulator"])
    sim = backend("simulator", characterization_id=None)
    state.apply_round(snapshot(sim), T0, 0.1)
    state.set_characterization(sim, None, T0)
    moved = backend("simulator", characterization_id=None, last_updated=T0 + timedelta(1))
    state.apply_round(snapshot(moved), T0, 0.1)
    soon = T0 + timedelta(seconds=CHARACTERIZATION_MIN_REFRESH - 1)
    assert state.characterizations_due(soon) == []
    later = T0 + timedelta(seconds=CHARACTERIZATION_MIN_REFRESH)
    assert len(state.characterizations_due(later)) == 1


def test_failed_characterization_keeps_the_old_one_and_retries_later() -> None:
    state = FleetState(["qpu.aria-1"])
    state.apply_round(snapshot(backend()), T0, 0.1)
    state.set_characterization(backend(), characterization(), T0)
    state.apply_round(snapshot(backend(characterization_id="c-2")), T0, 0.1)
    state.set_characterization(backend(characterization_id="c-2"), server_error(), T0)
    view = state.views["qpu.aria-1"]
    assert view.characterization is not None and view.characterization.id == "c-1"
    assert view.characterization_error == ErrorInfo.of(server_error(), T0)  # dated when it failed
    soon = T0 + timedelta(seconds=CHARACTERIZATION_RETRY - 1)
    assert state.characterizations_due(soon) == []
    assert len(state.characterizations_due(T0 + timedelta(seconds=CHARACTERIZATION_RETRY))) == 1


# History rows and downsampling


def test_sample_rows_count_failures_and_read_queue_in_seconds() -> None:
    rows = sample_rows(
        snapshot(backend(), backend("qpu.aria-2", status="unavailable", average_queue_time=None),
                 errors={"qpu.forte-1": server_error()}),
        T0 + timedelta(seconds=59),
        60,
    )  # fmt: skip
    bucket = bucket_of(T0, 60)
    assert [tuple(r) for r in rows] == [
        ("qpu.aria-1", bucket, 1, 1, 90.0),
        ("qpu.aria-2", bucket, 1, 0, None),
        ("qpu.forte-1", bucket, 0, 0, None),
    ]


def test_event_rows_say_what_changed() -> None:
    old, new = backend(), backend(status=BackendStatus.UNAVAILABLE, degraded=True)
    changes = [
        BackendChange("qpu.aria-1", None, old),
        BackendChange("qpu.aria-1", old, new, None, ("status", "degraded")),
        BackendChange("qpu.aria-1", new, None, NotFoundError("gone", status_code=404)),
        BackendChange("qpu.aria-1", new, new),
    ]
    rows = event_rows(changes, T0)
    assert [(r.kind, r.status) for r in rows] == [
        ("seen", "available"),
        ("change", "unavailable"),
        ("error", None),
        ("recovered", "unavailable"),
    ]
    assert json.loads(rows[1].detail) == {
        "status": ["available", "unavailable"],
        "degraded": [False, True],
    }
    assert json.loads(rows[1].fields) == ["status", "degraded"]
    assert json.loads(rows[2].detail)["type"] == "NotFoundError"
    assert json.loads(rows[2].detail)["at"] == "2026-11-21T12:00:00.000Z"
    summary = {"status": "available", "qubits": 25, "degraded": False, "queue_seconds": 90.0,
               "characterization_id": "c-1"}  # fmt: skip
    assert json.loads(rows[0].detail) == summary
    assert json.loads(rows[3].detail) == summary | {"status": "unavailable", "degraded": True}
    assert all(r.ts == T0.timestamp() and r.backend == "qpu.aria-1" for r in rows)


def test_an_event_row_reads_back_as_json_with_its_time_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old, new = backend(), backend(status=BackendStatus.UNAVAILABLE)
    (row,) = event_rows([BackendChange("qpu.aria-1", old, new, None, ("status",))], T0)
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # the time is UTC whatever the machine's zone
    time.tzset()
    try:
        read = event_json(row)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert read == {
        "at": "2026-11-21T12:00:00.000Z",
        "ts": T0.timestamp(),
        "backend": "qpu.aria-1",
        "kind": "change",
        "status": "unavailable",
        "changed_fields": ["status"],
        "detail": {"status": ["available", "unavailable"]},
    }


def test_a_backend_gone_from_the_list_is_one_gone_event_with_no_detail() -> None:
    (row,) = event_rows([BackendChange("qpu.aria-2", backend(), None, gone=True)], T0)
    assert tuple(row) == (T0.timestamp(), "qpu.aria-2", "gone", None, "[]", "{}")


@pytest.mark.parametrize(
    ("span", "bucket", "step"),
    [(3600, 60, 60), (86400, 60, 300), (7 * 86400, 60, 1800), (30 * 86400, 60, 7200),
     (400 * 86400, 60, 86400), (3600, 1, 10), (10, 1, 1), (3600, 7, 14)],
)  # fmt: skip
def test_choose_step_is_nice_a_multiple_of_the_bucket_and_bounded(
    span: float, bucket: int, step: int
) -> None:
    chosen = choose_step(span, bucket, MAX_POINTS)
    assert chosen == step
    assert chosen % bucket == 0
    assert span / chosen <= MAX_POINTS


def test_series_json_is_columnar_with_unknowns_as_null() -> None:
    rows = [
        SeriesRow("a", 0, 4, 4, 3, 40.0, 4, 20.0),
        SeriesRow("a", 60, 2, 0, 0, 0.0, 0, None),
        SeriesRow("b", 0, 1, 1, 1, 5.0, 1, 5.0),
    ]
    assert series_json(rows) == {
        "a": {"t": [0, 60], "queue_seconds": [10.0, None], "queue_max": [20.0, None],
              "availability": [0.75, None], "errors": [0, 2]},
        "b": {"t": [0], "queue_seconds": [5.0], "queue_max": [5.0], "availability": [1.0],
              "errors": [0]},
    }  # fmt: skip


# Metrics decisions


def test_fleet_samples_say_what_the_state_knows_and_nothing_else() -> None:
    state = FleetState(["qpu.aria-1", "qpu.forte-1", "qpu.new"])
    sparse = backend("qpu.forte-1", status="maintenance", qubits=None, average_queue_time=None,
                     degraded=None)  # fmt: skip
    state.apply_round(snapshot(backend(), sparse, errors={"qpu.new": server_error()}), T0, 0.3)
    state.set_characterization(backend(), characterization(), T0)
    samples = fleet_samples(state, T0)
    assert {s.metric for s in samples} <= set(GAUGES)
    by = {(s.metric, tuple(sorted(s.labels.items()))): s.value for s in samples}
    aria = (("backend", "qpu.aria-1"),)
    assert by[("ionq_backend_up", aria)] == 1.0
    assert by[("ionq_backend_queue_seconds", aria)] == 90.0
    assert by[("ionq_backend_qubits", aria)] == 25.0
    assert by[("ionq_backend_degraded", aria)] == 0.0
    assert by[("ionq_characterization_age_seconds", aria)] == 20 * 3600
    assert by[("ionq_characterization_fidelity", (*aria, ("kind", "2q")))] == 0.99
    assert ("ionq_characterization_fidelity", (*aria, ("kind", "spam"))) not in by  # null value
    forte = (("backend", "qpu.forte-1"),)
    assert by[("ionq_backend_up", forte)] == 0.0  # an unknown status does not run jobs
    assert by[("ionq_backend", (("api_version", "v0.4"), *forte, ("status", "maintenance")))] == 1
    for metric in ("ionq_backend_queue_seconds", "ionq_backend_qubits", "ionq_backend_degraded"):
        assert (metric, forte) not in by  # the API left it out: so does /metrics
    assert by[("ionq_backend_stale", aria)] == by[("ionq_backend_stale", forte)] == 0.0
    # Never fetched: not known to be up, and stale; nothing else is said of it.
    new = [(s.metric, s.value) for s in samples if s.labels.get("backend") == "qpu.new"]
    assert sorted(new) == [("ionq_backend_stale", 1.0), ("ionq_backend_up", 0.0)]
    assert by[("ionq_poll_last_round_timestamp_seconds", ())] == T0.timestamp() + 0.3
    assert ("ionq_poll_stale_after_seconds", ()) not in by  # FleetState's default: never stale
    later = fleet_samples(FleetState(["qpu.aria-1"], stale_after=31.5), T0)
    assert ("ionq_poll_stale_after_seconds", {}, 31.5) in later


def test_the_fleet_as_json_is_every_field_of_every_row() -> None:
    """/api/fleet's and the live page's contract: a good row, a stale failing one, and one
    never fetched."""
    state = FleetState(["qpu.aria-1", "qpu.forte-1", "qpu.new"], stale_after=60)
    state.apply_round(snapshot(backend(), backend("qpu.forte-1")), T0, 0.5)
    state.set_characterization(backend(), characterization(), T0)
    state.set_characterization(backend("qpu.forte-1"), server_error("slow", 504), T0)
    later = T0 + timedelta(seconds=30)
    failing = {"qpu.forte-1": server_error(), "qpu.new": server_error("no", 502)}
    state.apply_round(snapshot(backend(), errors=failing), later, 0.25)

    def error(status: int, message: str, at: str) -> dict[str, Any]:
        return {"type": "ServerError", "message": f"{status} {message} (GET /x, request id r-1)",
                "status_code": status, "at": at}  # fmt: skip

    at_30 = "2026-11-21T12:00:30.000Z"
    known = {"status": "available", "runs_jobs": True, "qubits": 25, "queue_seconds": 90.0,
             "degraded": False, "last_updated": "2026-11-21T12:00:00.000Z",
             "api_version": "v0.4"}  # fmt: skip
    unknown = dict.fromkeys(known)
    assert state.to_json(T0 + timedelta(seconds=31), 30.0) == {
        "now": "2026-11-21T12:00:31.000Z",
        "interval": 30.0,
        "rounds": 2,
        "last_round": {"started": at_30, "ended": "2026-11-21T12:00:30.250Z", "duration": 0.25},
        "backends": [
            {"name": "qpu.aria-1", "stale": False, "available": True, **known, "seen_at": at_30,
             "error": None, "error_since": None, "last_error": None, "failed_rounds": 0,
             "characterization": {"id": "c-1", "date": "2026-11-20T16:00:00.000Z",
                                  "fidelity": {"2q": 0.99, "spam": None}},
             "characterization_error": None},
            {"name": "qpu.forte-1", "stale": True, "available": False, **known,
             "seen_at": "2026-11-21T12:00:00.000Z", "error": error(503, "boom", at_30),
             "error_since": at_30, "last_error": error(503, "boom", at_30), "failed_rounds": 1,
             "characterization": None,
             "characterization_error": error(504, "slow", "2026-11-21T12:00:00.000Z")},
            {"name": "qpu.new", "stale": True, "available": False, **unknown, "seen_at": None,
             "error": error(502, "no", at_30), "error_since": at_30,
             "last_error": error(502, "no", at_30), "failed_rounds": 1,
             "characterization": None, "characterization_error": None},
        ],
    }  # fmt: skip


def test_before_any_round_the_fleet_says_nothing_of_its_last_round() -> None:
    state = FleetState(["qpu.a"])
    assert state.to_json(T0, 30.0)["last_round"] == {"started": None, "ended": None,
                                                     "duration": None}  # fmt: skip


def test_a_name_first_met_in_a_rounds_errors_gets_its_own_row() -> None:
    state = FleetState([])
    state.apply_round(snapshot(errors={"qpu.x": server_error()}), T0, 0.1)
    (row,) = state.to_json(T0, 30.0)["backends"]
    assert (row["name"], row["error"]["status_code"], row["failed_rounds"]) == ("qpu.x", 503, 1)


def test_forgetting_a_backend_drops_its_row_and_a_name_never_seen_is_no_error() -> None:
    state = FleetState(["qpu.a", "qpu.b"])
    state.forget("qpu.a")
    state.forget("qpu.never")
    assert list(state.views) == ["qpu.b"]


def test_a_backend_forgotten_takes_every_poll_error_series_with_it_and_no_other() -> None:
    metrics = Metrics(FleetState(["qpu.a", "qpu.b"]))
    errors = {"qpu.a": server_error(), "qpu.b": server_error()}
    metrics.observe_round(snapshot(errors=errors), 0.1)
    metrics.observe_round(snapshot(errors={"qpu.a": NotFoundError("no", status_code=404)}), 0.1)

    def series() -> dict[tuple[str, str], float]:
        (family,) = [m for m in metrics.registry.collect() if m.name == "ionq_poll_errors"]
        return {(s.labels["backend"], s.labels["error"]): s.value for s in family.samples
                if s.name == "ionq_poll_errors_total"}  # fmt: skip

    assert series() == {("qpu.a", "ServerError"): 1, ("qpu.a", "NotFoundError"): 1,
                        ("qpu.b", "ServerError"): 1}  # fmt: skip
    metrics.forget("qpu.a")
    assert series() == {("qpu.b", "ServerError"): 1}
    metrics.forget("qpu.a")  # twice, or a name with no errors: nothing to drop
    metrics.forget("qpu.never")
    assert series() == {("qpu.b", "ServerError"): 1}


def test_the_monitors_own_families_are_named_typed_labelled_and_explained() -> None:
    metrics = Metrics(FleetState(["qpu.a"]))
    metrics.observe_round(snapshot(errors={"qpu.a": server_error()}), 0.3)
    metrics.history_write_errors.labels(reason="backlog").inc()
    families = {m.name: m for m in metrics.registry.collect()}
    own = {
        "ionq_poll_errors": ("counter", "Failed fetches of a backend, one per backend per round, "
                             "by error type.", {"backend", "error"}),
        "ionq_poll_round_duration_seconds": ("histogram", "Wall time of one polling round (the "
                                             "concurrent fan-out over the fleet).", {"le"}),
        "ionq_history_write_errors": ("counter", "Rounds not written to the history, by reason "
                                      "(an exception type, or backlog).", {"reason"}),
        "ionq_sse_clients": ("gauge", "Live pages connected by server-sent events.", set()),
    }  # fmt: skip
    for name, (kind, text, labels) in own.items():
        family = families[name]
        assert (family.type, family.documentation) == (kind, text), name
        assert {label for sample in family.samples for label in sample.labels} == labels, name
    buckets = [s.labels["le"] for s in families["ionq_poll_round_duration_seconds"].samples
               if s.name.endswith("_bucket")]  # fmt: skip
    assert buckets == [*(str(float(b)) for b in ROUND_BUCKETS), "+Inf"]


def test_an_error_as_json_keeps_type_message_status_and_time() -> None:
    info = ErrorInfo.of(server_error("down", 503), T0)
    assert info.to_json() == {
        "type": "ServerError",
        "message": str(server_error("down", 503)),
        "status_code": 503,
        "at": "2026-11-21T12:00:00.000Z",
    }


@pytest.mark.parametrize(("late", "stale"), [(-0.001, False), (0.0, False), (0.001, True)])
def test_a_backend_is_stale_once_its_fetch_fails_or_is_older_than_stale_after(
    late: float, stale: bool
) -> None:
    state = FleetState(["qpu.aria-1"], stale_after=30.0)
    state.apply_round(snapshot(backend()), T0, 0.3)
    at = T0 + timedelta(seconds=30.0 + late)
    by = {s.metric: s.value for s in fleet_samples(state, at)}
    assert (by["ionq_backend_up"], by["ionq_backend_stale"]) == (float(not stale), float(stale))
    row = state.to_json(at, 10.0)["backends"][0]
    assert (row["stale"], row["available"], row["status"]) == (stale, not stale, "available")
    assert [b.name for b in state.fresh(at)] == ([] if stale else ["qpu.aria-1"])


def test_a_failed_round_makes_the_last_known_value_stale_and_never_up() -> None:
    state = FleetState(["qpu.aria-1"])
    state.apply_round(snapshot(backend()), T0, 0.3)
    later = T0 + timedelta(seconds=60)
    state.apply_round(snapshot(errors={"qpu.aria-1": server_error()}), later, 0.3)
    by = {s.metric: s.value for s in fleet_samples(state, later)}
    assert by["ionq_backend_up"] == 0.0 and by["ionq_backend_stale"] == 1.0
    assert by["ionq_backend_qubits"] == 25.0  # the last good value, marked stale by the gauge
    row = state.to_json(later, 10.0)["backends"][0]
    assert row["stale"] and not row["available"] and row["status"] == "available"
    assert row["seen_at"] == iso(T0)  # its age is the last good fetch's


def test_an_error_that_persists_keeps_its_start_whatever_its_request_id() -> None:
    state = FleetState(["qpu.aria-1"])
    for minute in range(3):
        error = ServerError("boom", status_code=503, request_id=f"req-{minute}", path="/x")
        state.apply_round(
            snapshot(errors={"qpu.aria-1": error}), T0 + timedelta(minutes=minute), 0.1
        )
    view = state.views["qpu.aria-1"]
    assert view.error_since == T0 and view.failed_rounds == 3
    assert view.error is not None and "req-2" in view.error.message  # the latest is shown
    other = ServerError("other", status_code=502, request_id="req-9", path="/x")
    state.apply_round(snapshot(errors={"qpu.aria-1": other}), T0 + timedelta(minutes=5), 0.1)
    assert view.error_since == T0 + timedelta(minutes=5)  # another error: a new start


@pytest.mark.parametrize(
    ("fields", "degraded", "available"),
    [
        ({"status": BackendStatus.DEGRADED, "degraded": False}, True, False),
        ({"status": BackendStatus.AVAILABLE, "degraded": True}, True, True),
        ({"status": BackendStatus.AVAILABLE, "degraded": False}, False, True),
        ({"status": BackendStatus.AVAILABLE, "degraded": None}, None, True),
    ],
)
def test_page_metrics_and_select_agree_on_degraded_and_available(
    fields: dict[str, Any], degraded: bool | None, available: bool
) -> None:
    """One definition: the status `degraded` counts as degraded on the page, in /metrics and in
    select(), and a backend the API says nothing about stays unknown."""
    from ionq_backends import select

    b = backend(**fields)
    state = FleetState(["qpu.aria-1"])
    state.apply_round(snapshot(b), T0, 0.5)
    (view,) = state.to_json(T0, 30.0)["backends"]
    assert (view["degraded"], view["available"]) == (degraded, available)
    gauges = {s.metric: s.value for s in fleet_samples(state, T0)}
    assert gauges.get("ionq_backend_degraded") == (None if degraded is None else float(degraded))
    assert gauges["ionq_backend_up"] == float(available)
    assert bool(select([b])) is (degraded is not True)  # select() drops the degraded by default
    assert bool(select([b], include_degraded=True)) is True  # both run jobs
