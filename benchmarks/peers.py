"""Other IonQ clients against the emulator: `python -m benchmarks --peers [--quick]`.

Each client runs in a fresh process of its own (`benchmarks/_peer.py`), against emulators in two
more processes: one at 100 ms latency for the fleet poll, one without latency for requests/s.
The peers live in a separate venv, never in the project's:

    python3 -m venv .venv-peers
    .venv-peers/bin/pip install ionq-core ionq cirq-ionq 'openqasm3[parser]>=1,<2'
    python -m benchmarks --peers --peers-python .venv-peers/bin/python

(`ionq` imports openqasm3 without declaring it.) Whichever peers that interpreter cannot import
are listed as such; ours always runs with this interpreter. Nothing here has a budget: the run
reports ratios to ours and never fails on them.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ._common import ROOT, load_previous, median, results_file, server_process

WORKER = Path(__file__).resolve().parent / "_peer.py"
OURS = "ionq-backends"
# (client given to the worker, distribution, label, how it polls the fleet)
CLIENTS = [
    (OURS, "ionq-backends", "ionq-backends", "get_backends(): 6 GETs at once"),
    ("ionq-core", "ionq-core", "ionq-core (sync)", "6 get_backend.sync() in a loop"),
    ("ionq-core-async", "ionq-core", "ionq-core (async)", "6 get_backend.asyncio(), gathered"),
    ("ionq", "ionq", "ionq", "1 get_backends() list (v0.3: its model rejects v0.4 dates)"),
    ("cirq-ionq", "cirq-ionq", "cirq-ionq", "no backends API: 6 requests.get via _make_request"),
]
DEFAULT_PEERS_PYTHON = Path(".venv-peers/bin/python")


def peers_python(chosen: str | None) -> str:
    if chosen:
        return chosen
    if os.environ.get("IONQ_PEERS_PYTHON"):
        return os.environ["IONQ_PEERS_PYTHON"]
    if DEFAULT_PEERS_PYTHON.exists():
        return str(DEFAULT_PEERS_PYTHON)
    return sys.executable


def call(python: str, *args: str) -> tuple[dict[str, Any] | None, str]:
    """Run the worker in a fresh process: (its JSON, or None and why not)."""
    done = subprocess.run(
        [python, "-I", str(WORKER), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith(("IONQ_", "CIRQ_IONQ_"))},
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit {done.returncode}"]
        return None, lines[-1][:160]
    return json.loads(done.stdout.strip().splitlines()[-1]), ""


def version(python: str, distribution: str) -> str | None:
    code = (
        "import importlib.metadata as m, sys\n"
        "try: print(m.version(sys.argv[1]))\n"
        "except m.PackageNotFoundError: print('')"
    )
    done = subprocess.run(
        [python, "-I", "-c", code, distribution], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or None


def measure(quick: bool, python: str) -> dict[str, dict[str, Any]]:
    rounds = 1 if quick else 3
    import_rounds = 2 if quick else 7
    requests, polls = (100, 2) if quick else (1_000, 5)
    rows: dict[str, dict[str, Any]] = {}
    for client, distribution, label, how in CLIENTS:
        interpreter = sys.executable if client == OURS else python
        found = version(interpreter, distribution)
        rows[client] = {"label": label, "how": how, "python": interpreter, "version": found}
        if found is None:
            rows[client]["error"] = f"not installed in {interpreter}"
    live = [c for c in rows if "error" not in rows[c]]
    for client in live:  # a discarded import of each: bytecode caches, page cache
        outcome, why = call(rows[client]["python"], client, "import")
        if outcome is None:
            rows[client]["error"] = f"fails to import: {why}"
    live = [c for c in live if "error" not in rows[c]]
    imports: dict[str, list[float]] = {c: [] for c in live}
    for repeat in range(import_rounds):  # fresh processes, the order rotating every round
        for client in live[repeat % len(live) :] + live[: repeat % len(live)]:
            outcome, why = call(rows[client]["python"], client, "import")
            if outcome is not None:
                imports[client].append(outcome["import_s"])
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in live}
    with server_process(latency=0.1) as slow, server_process() as fast:
        for repeat in range(rounds):
            for client in live[repeat % len(live) :] + live[: repeat % len(live)]:
                outcome, why = call(
                    rows[client]["python"],
                    client,
                    "run",
                    "--slow",
                    slow,
                    "--fast",
                    fast,
                    "--requests",
                    str(requests),
                    "--polls",
                    str(polls),
                )
                if outcome is None:
                    rows[client]["error"] = f"fails against the emulator: {why}"
                else:
                    runs[client].append(outcome)
                print(f"{client} round {repeat + 1}/{rounds} done", file=sys.stderr)
    for client in live:
        if "error" in rows[client] or not runs[client]:
            continue
        row = rows[client]
        row["import_s"] = median(imports[client])
        for key in ("poll_s", "rps", "rps_concurrent", "peak_rss_mib"):
            values = [r[key] for r in runs[client] if r[key] is not None]
            row[key] = median(values) if values else None
    rows["_settings"] = {"requests": requests, "polls": polls, "rounds": rounds}
    return rows


def ratio(value: float | None, ours: float | None, digits: int = 2) -> str:
    if value is None or not ours:
        return ""
    return f" ({value / ours:.{digits}f}×)"


def table(rows: dict[str, dict[str, Any]]) -> str:
    ours = rows[OURS]
    lines = [
        "| client | version | fleet poll, 6 QPUs at 100 ms | requests/s, 1 in flight | "
        "requests/s, 8 in flight | import | peak RSS | how it polls |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for client, _distribution, _label, _how in CLIENTS:
        row = rows[client]
        name = f"{row['label']}"
        if "error" in row:
            lines.append(
                f"| {name} | {row['version'] or '—'} | {row['error']} | | | | | {row['how']} |"
            )
            continue
        rps8 = row["rps_concurrent"]
        concurrent = (
            f"{rps8:,.0f}{ratio(rps8, ours.get('rps_concurrent'))}"
            if rps8 is not None
            else "— (blocking)"
        )
        rss = row["peak_rss_mib"]
        lines.append(
            f"| {name} | {row['version']} "
            f"| {row['poll_s'] * 1e3:.0f} ms{ratio(row['poll_s'], ours.get('poll_s'))} "
            f"| {row['rps']:,.0f}{ratio(row['rps'], ours.get('rps'))} "
            f"| {concurrent} "
            f"| {row['import_s'] * 1e3:.0f} ms{ratio(row['import_s'], ours.get('import_s'))} "
            f"| {rss:.0f} MiB{ratio(rss, ours.get('peak_rss_mib'))} "
            f"| {row['how']} |"
        )
    return "\n".join(lines)


def main(quick: bool, chosen: str | None) -> int:
    python = peers_python(chosen)
    started = time.perf_counter()
    rows = measure(quick, python)
    if "error" in rows[OURS]:
        print(f"peers: ionq-backends itself failed: {rows[OURS]['error']}", file=sys.stderr)
        return 1
    settings = rows["_settings"]
    path = results_file("last-peers", quick)
    previous = load_previous(path)
    print(table(rows))
    print(
        f"\nratios are to ionq-backends (×: a time or size over ours, a rate over ours); "
        f"fleet poll: median of {settings['polls']} polls after a warm one; requests/s: "
        f"{settings['requests']} requests, emulator without latency; each the median over "
        f"{settings['rounds']} fresh process(es) per client (import: over more); "
        f"peers from {python}"
    )
    mode = "quick mode (never judged)" if quick else "full run"
    print(
        f"{mode}; {os.cpu_count()} cores; Python {platform.python_version()}; "
        f"took {time.perf_counter() - started:.0f} s"
    )
    if previous:
        print(f"last run: {previous.get('when', '?')}, in {path.name}")
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "quick": quick,
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "clients": rows,
            },
            indent=2,
        )
        + "\n"
    )
    return 0
