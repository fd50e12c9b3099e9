"""`to_json`: the one converter from models to JSON values."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from ionq_backends import Backend, BackendStatus, ErrorRate
from ionq_backends._json import to_json


def test_models_become_plain_json() -> None:
    backend = Backend(
        name="qpu.aria-1",
        status=BackendStatus.AVAILABLE,
        api_version="v0.4",
        last_updated=datetime(2026, 11, 21, 12, 0, tzinfo=UTC),
        supported_gates=("x", "y"),
        extra={"kw": 1},
    )
    data = to_json(backend)
    assert data["status"] == "available"
    assert data["last_updated"] == "2026-11-21T12:00:00Z"
    assert list(data["supported_gates"]) == ["x", "y"]
    assert data["extra"] == {"kw": 1}
    json.dumps(data)  # JSON-ready


def test_durations_are_seconds_and_none_stays_none() -> None:
    assert to_json(timedelta(minutes=1, milliseconds=500)) == 60.5
    assert to_json(None) is None
    rates = to_json({"2q": ErrorRate(0.01, None, "median")})
    assert rates == {"2q": {"value": 0.01, "stderr": None, "statistic": "median"}}
