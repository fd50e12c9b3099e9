"""Scenarios: a fleet's day played on the emulator, with time compressed (`speed`).

A scenario is a list of steps in scenario seconds; `play()` applies each at `at / speed` real
seconds from its start, and starts over at the end of the day, for as long as the emulator runs.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from ._fleet import Machine

__all__ = ["SCENARIOS", "Scenario", "Step", "calibrated", "play", "scenario_named"]

HOUR = 3600.0
DAY = 24 * HOUR


@attrs.frozen
class Step:
    """At `at` scenario seconds, `backend` gets `fields` (as `Emulator.set_backend` takes
    them); `calibrate=True` also adds a characterization dated now, with a new id."""

    at: float
    backend: str
    fields: Mapping[str, Any] = attrs.field(factory=dict)
    calibrate: bool = False


@attrs.frozen
class Scenario:
    name: str
    length: float  # scenario seconds; then it starts over
    steps: tuple[Step, ...]


def _day() -> Scenario:
    """Queues that swing, two calibrations, an outage and its recovery, a degraded spell, and
    a QPU retired in the evening (it is back, unavailable, at the start of the next day)."""
    queues = {"qpu.aria-1": 1_200_000, "qpu.forte-1": 12_000_000,
              "qpu.forte-enterprise-1": 540_000, "qpu.tempo-1": 40_000_000}  # fmt: skip
    steps = [Step(0.0, "qpu.aria-2", {"status": "unavailable"})]
    for half_hour in range(48):
        at = half_hour * 1800.0
        for phase, (name, base) in enumerate(queues.items()):
            swing = 1 + 0.8 * math.sin(2 * math.pi * at / DAY + phase)
            steps.append(Step(at, name, {"average_queue_time": round(base * swing)}))
    steps += [
        Step(2 * HOUR, "qpu.forte-1", calibrate=True),
        Step(6 * HOUR, "qpu.aria-1", {"status": "unavailable"}),
        Step(8.5 * HOUR, "qpu.aria-1", {"status": "available"}),
        Step(12 * HOUR, "qpu.forte-enterprise-1", {"degraded": True}),
        Step(15 * HOUR, "qpu.forte-enterprise-1", {"degraded": False}),
        Step(18 * HOUR, "qpu.aria-2", {"status": "retired"}),
        Step(21 * HOUR, "qpu.tempo-1", calibrate=True),
    ]
    return Scenario("day", DAY, tuple(sorted(steps, key=lambda step: step.at)))


SCENARIOS: dict[str, Callable[[], Scenario]] = {"day": _day}


def scenario_named(scenario: str | Scenario) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r} (known: {', '.join(SCENARIOS)})")
    return SCENARIOS[scenario]()


def calibrated(machine: Machine, now: datetime) -> dict[str, Any]:
    """The fields that give `machine` a new latest characterization, dated `now`."""
    old = machine.characterizations
    new = {**old[0], "id": str(uuid.uuid4()), "date": now} if old else None
    if new is None:
        return {}
    return {"characterizations": [new, *old], "characterization_id": new["id"]}


async def play(scenario: Scenario, speed: float, apply: Callable[[Step, datetime], None]) -> None:
    """Apply each step of `scenario` on time, over and over, until cancelled."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    cycle = 0
    while True:
        for step in scenario.steps:
            due = start + (cycle * scenario.length + step.at) / speed
            await asyncio.sleep(max(0.0, due - loop.time()))
            apply(step, datetime.now(UTC))
        cycle += 1
