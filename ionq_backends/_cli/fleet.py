"""The fleet views of `ionq-backends`: `best`, `list --available ...` and calibration ages.

Parsers, one fetch and pure formatters; `commands` hooks them in and owns the client, the timeout
and the exit status.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from .. import _argtypes as args
from .._client import IonQClient
from .._errors import IonQError
from .._json import to_json
from .._models import Backend, Characterization, ErrorRate
from .._ranking import CircuitShape, RankedBackend, rank_for_circuit
from .._selection import OrderBy, select
from .format import queue_text, relative, table

_LIST_SORTS: dict[str, OrderBy] = {"queue": "queue_time", "qubits": "qubits", "name": "name"}


_count = args.integer(0)
_at_least_one = args.integer(1)
_hours = args.positive


# list


def add_list_options(parser: argparse.ArgumentParser) -> None:
    """`--available`, `--include-degraded`, `--min-qubits N` and `--sort` on `list`."""
    parser.add_argument("--available", action="store_true",
                        help="only backends that run jobs now and are not degraded")  # fmt: skip
    parser.add_argument("--include-degraded", action="store_true",
                        help="with --available, keep degraded backends too")  # fmt: skip
    parser.add_argument("--min-qubits", type=_at_least_one, metavar="N",
                        help="only backends with at least N qubits")  # fmt: skip
    parser.add_argument(
        "--sort",
        choices=tuple(_LIST_SORTS),
        help="queue: shortest first, qubits: most first (default: as listed)",
    )


def filter_list(backends: Iterable[Backend], args: argparse.Namespace) -> list[Backend]:
    """The backends `list` shows under its options, in the API's order unless `--sort`."""
    return select(
        backends,
        available=args.available,
        include_degraded=args.include_degraded or not args.available,
        min_qubits=args.min_qubits,
        order_by=_LIST_SORTS[args.sort] if args.sort else None,
    )


# best


def add_best_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    """The `best` command: backends ranked for a circuit's shape."""
    best = sub.add_parser(
        "best",
        parents=parents,
        help="backends ranked for a circuit: expected fidelity, then queue",
        description="Rank the backends that can run a circuit by its expected fidelity (an "
        "independent-error estimate from each latest characterization: F1q^n1 * F2q^n2 * "
        "Fspam^measured), then by queue time. Count native gates.",
        formatter_class=args.HelpFormatter,
    )
    best.add_argument(
        "--qubits",
        type=_at_least_one,
        required=True,
        metavar="N",
        help="qubits the circuit uses; backends with fewer are excluded",
    )
    best.add_argument(
        "--one-qubit-gates",
        type=_count,
        default=0,
        metavar="N",
        help="native single-qubit gates in the circuit",
    )
    best.add_argument(
        "--two-qubit-gates",
        type=_count,
        default=0,
        metavar="N",
        help="native two-qubit gates in the circuit",
    )
    best.add_argument(
        "--measured", type=_count, metavar="N", help="qubits measured (default: all of --qubits)"
    )
    best.add_argument(
        "--sort",
        choices=("fidelity", "queue"),
        default="fidelity",
        help="rank by expected fidelity (ties: queue), or by queue time",
    )
    best.add_argument(
        "--include-degraded",
        action="store_true",
        help="rank degraded backends too (excluded by default)",
    )
    best.add_argument(
        "--max-calibration-age",
        type=_hours,
        metavar="HOURS",
        help="exclude backends characterized longer ago (default: no limit)",
    )


def circuit_of(args: argparse.Namespace) -> CircuitShape:
    """The circuit `best` was asked about; `ValueError` when the counts do not fit."""
    return CircuitShape(
        qubits=args.qubits,
        one_qubit_gates=args.one_qubit_gates,
        two_qubit_gates=args.two_qubit_gates,
        measured_qubits=args.measured,
    )


async def run_best(
    args: argparse.Namespace, client: IonQClient, circuit: CircuitShape
) -> tuple[list[RankedBackend], Mapping[str, IonQError]]:
    """List the fleet, fetch the candidates' latest characterizations at once, and rank them.

    Returns the ranking and the characterizations that failed (their backends rank as unknown).
    """
    backends = await client.list_backends()
    candidates = select(backends, include_degraded=args.include_degraded,
                        min_qubits=circuit.qubits, order_by=None)  # fmt: skip
    found = await client.latest_characterizations([b.name for b in candidates])
    ranked = rank_for_circuit(
        backends,
        found,
        circuit,
        order_by="queue_time" if args.sort == "queue" else "fidelity",
        include_degraded=args.include_degraded,
        max_calibration_age=None
        if args.max_calibration_age is None
        else timedelta(hours=args.max_calibration_age),
        now=found.fetched_at,
    )
    return ranked, found.errors


BEST_HEADERS = ("RANK", "NAME", "QUBITS", "FIDELITY", "QUEUE", "CALIBRATED", "EXCLUDED")


def best_rows(ranked: Iterable[RankedBackend], now: datetime) -> list[list[str]]:
    """One table row per entry: rank, name, qubits, expected fidelity, queue, calibration age."""
    rows = []
    for entry in ranked:
        c = entry.characterization
        rows.append([
            "-" if entry.rank is None else str(entry.rank),
            entry.name,
            "-" if entry.backend.qubits is None else str(entry.backend.qubits),
            "-" if entry.expected_fidelity is None else f"{entry.expected_fidelity:.4f}",
            queue_text(entry.backend),
            relative(c.date if c else None, now),
            entry.excluded or "",
        ])  # fmt: skip
    return rows


def best_table(ranked: Iterable[RankedBackend], now: datetime) -> str:
    return table(BEST_HEADERS, best_rows(ranked, now), {})


def best_json(ranked: Iterable[RankedBackend]) -> str:
    return json.dumps([entry.as_row() for entry in ranked], indent=2)


# characterizations


CHARACTERIZATION_HEADERS = ("DATE", "AGE", "ID", "1Q ERR", "2Q ERR", "SPAM ERR", "T1 s", "T2 s",
                            "PAIRS")  # fmt: skip


def error_cell(rate: ErrorRate | None) -> str:
    """`1.37%±0.11`: the error rate in percent (3 digits), with its standard error when known."""
    if rate is None or rate.value is None:
        return "-"
    cell = f"{rate.value * 100:#.3g}%"
    return cell if rate.stderr is None else f"{cell}±{rate.stderr * 100:#.2g}"


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def characterization_rows(items: Iterable[Characterization], now: datetime) -> list[list[str]]:
    """One row per characterization: date, age, id, error rates, T1, T2 and coupled pairs."""
    rows = []
    for c in items:
        errors = c.error_rates
        age = c.age(now)
        rows.append([
            c.date.strftime("%Y-%m-%d %H:%M") if c.date else "-",
            "-" if age is None else relative(c.date, now).removesuffix(" ago"),
            c.id,
            error_cell(errors.get("1q")),
            error_cell(errors.get("2q")),
            error_cell(errors.get("spam")),
            _fmt(c.timing.t1, "g"),
            _fmt(c.timing.t2, "g"),
            str(len(c.couplings)),
        ])  # fmt: skip
    return rows


def characterization_table(items: Iterable[Characterization], now: datetime) -> str:
    return table(CHARACTERIZATION_HEADERS, characterization_rows(items, now), {})


def characterization_extras(c: Characterization, now: datetime) -> dict[str, Any]:
    """What `characterizations --json` adds to each item: its age and its error rates."""
    return {"age_s": to_json(c.age(now)), "error_rates": to_json(c.error_rates)}
