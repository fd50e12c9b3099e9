"""Client instructions per request, counted with callgrind: the SDK against bare aiohttp.

    python -m benchmarks --instructions                 # 1,000 counted requests a side; judged
    python -m benchmarks --instructions --quick         # 100 a side; never fails on the numbers
    python -m benchmarks --instructions --in-flight 1   # one request at a time instead of 32
    python -m benchmarks --instructions --loop uvloop --json orjson   # the `speedups` figure

Wall clock on a shared 2-core machine swings by ±20% from run to run; an instruction count does
not. Each side runs in a fresh process under `valgrind --tool=callgrind`, and the server runs in
another process, natively, so that only the client's instructions are counted:

- the SDK: `IonQClient(base_url=..., max_concurrency=K)`, `await client.get_backend(name)`;
- the baseline: what a user writes by hand, `aiohttp.ClientSession(timeout=...)` with the same
  `ClientTimeout` as the SDK's documented `timeout=30`, then `session.get(url)` and
  `json.loads(await response.read())`, keeping the parsed result as the SDK keeps its `Backend`.

By default both gather their requests with K = 32 in flight, the shape of the wall-clock overhead
figure (the baseline bounded by a semaphore and a connector limit of 32, as a hand-written
fan-out must be). `--in-flight 1` makes them one after another in a plain loop instead, the SDK
with every default: the pure cost of one request, with no queueing to share it.

Why two runs a side, not a marker. Callgrind can count only a part of a process, but its switches
(`--toggle-collect=FUNCTION`, client requests, `callgrind_control`) work on C functions or need C
code or another process's timing: a Python loop has no C function of its own to toggle on, and an
outside switch lands at an unknown request. So each side runs twice, with the same warm-up and
N1 then N2 counted requests, and the figure is the marginal cost

    (instructions(N2) - instructions(N1)) / (N2 - N1)

Interpreter start, imports, the warm-up (connections, adaptive specialisation of the bytecode,
caches), session setup and teardown are the same in both runs and cancel exactly; what is left
is N2 - N1 warm requests. `PYTHONHASHSEED=0` makes dict and set layouts the same in both runs.
Repeated runs agree within 0.5%.

The figure is bare ÷ SDK: higher is better for the SDK, and ≥ 1.00 means the SDK costs fewer
instructions than the hand-written code. The budget is ≥ 0.90 with the run-time dependencies and
plain code (a plain `asyncio.timeout` per attempt, one implementation per method), and ≥ 1.00
with the `speedups` extra (`--loop uvloop --json orjson`, applied to the
SDK's process only; the baseline stays plain asyncio and `json`).

valgrind is a Debian package: `apt-get install -y valgrind` (as root). Without it, this mode
says so and exits 0.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ._common import ROOT, Figure, load_previous, report, results_file, save, server_process


@dataclass(frozen=True)
class Plan:
    """How many requests each run makes: `warmup`, then `low` or `high` counted ones."""

    warmup: int
    low: int
    high: int


FULL = Plan(warmup=100, low=100, high=1_100)
QUICK = Plan(warmup=30, low=20, high=120)


_shown: set[str] = set()


def valgrind() -> str | None:
    return shutil.which("valgrind")


def count(
    side: str, base_url: str, warmup: int, requests: int, options: list[str], workdir: Path
) -> int:
    """Instructions that one fresh process of `side` executes in all, under callgrind."""
    out = workdir / f"callgrind.{side}.{requests}.out"
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        "--dump-line=no",
        "--compress-strings=no",
        sys.executable,
        "-m",
        "benchmarks._instructions_worker",
        "--side",
        side,
        "--base-url",
        base_url,
        "--warmup",
        str(warmup),
        "--count",
        str(requests),
        *options,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONQ_")}
    env["PYTHONHASHSEED"] = "0"
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1_800, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{side} under callgrind exited {done.returncode}:\n{done.stderr[-2000:]}"
        )
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    if outcome.get("name") is None:
        raise RuntimeError(f"{side} fetched nothing: {outcome}")
    if "measured" in outcome and outcome["measured"] not in _shown:
        _shown.add(outcome["measured"])
        print(f"{side}: ionq_backends from {Path(outcome['measured']).parent}", file=sys.stderr)
    for line in out.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {out}")


def per_request(side: str, base_url: str, plan: Plan, options: list[str], workdir: Path) -> float:
    """The marginal instructions of one warm request (see the module docstring)."""
    low = count(side, base_url, plan.warmup, plan.low, options, workdir)
    high = count(side, base_url, plan.warmup, plan.high, options, workdir)
    return (high - low) / (plan.high - plan.low)


def missing_speedups(loop: str, json_lib: str) -> list[str]:
    """The speedups asked for that this interpreter cannot import."""
    wanted = [name for name in (loop, json_lib) if name in ("uvloop", "orjson")]
    return [name for name in wanted if importlib.util.find_spec(name) is None]


def measure(plan: Plan, loop: str, json_lib: str, in_flight: int) -> Figure:
    shape = ["--in-flight", str(in_flight)]
    sdk_options = [*shape, "--loop", loop, "--json", json_lib]
    speedups = loop != "asyncio" or json_lib != "json"
    with (
        tempfile.TemporaryDirectory(prefix="ionq-callgrind-") as tmp,
        server_process(backends=plan.high) as url,
    ):
        workdir = Path(tmp)
        # The baseline first, then the SDK: both orders give the same counts (no wall clock here).
        bare = per_request("bare", url, plan, shape, workdir)
        print(f"bare aiohttp: {bare / 1e3:.1f}k instructions a request", file=sys.stderr)
        sdk = per_request("sdk", url, plan, sdk_options, workdir)
        print(f"SDK: {sdk / 1e3:.1f}k instructions a request", file=sys.stderr)
        structuring = per_request("structure", url, plan, [], workdir)
        print(f"structuring: {structuring / 1e3:.1f}k instructions a backend", file=sys.stderr)
    ratio = bare / sdk
    budget = 1.00 if speedups else 0.90
    extras = f" on {loop} with {json_lib}.loads" if speedups else ""
    how = "one at a time" if in_flight == 1 else f"{in_flight} in flight, gathered"
    return Figure(
        "instructions" + ("-speedups" if speedups else ""),
        ratio,
        "x: bare aiohttp / SDK instr",
        f">= {budget:.2f}",
        ratio >= budget,
        f"SDK get_backend(){extras} {sdk / 1e3:.1f}k instructions a request, bare aiohttp + "
        f"json.loads {bare / 1e3:.1f}k (marginal cost of {plan.high - plan.low} warm requests "
        f"after {plan.warmup}, {how}; callgrind, fresh processes, server in another process); "
        f"of which structuring one backend {structuring / 1e3:.1f}k",
    )


def main(quick: bool, loop: str, json_lib: str, in_flight: int = 32) -> int:
    plan = QUICK if quick else FULL
    if valgrind() is None:
        print(
            "instructions: skipped, valgrind is not installed "
            "(it is a Debian package: apt-get install -y valgrind)"
        )
        return 0
    absent = missing_speedups(loop, json_lib)
    if absent:
        message = (
            f"instructions: {', '.join(absent)} not installed (pip install {' '.join(absent)})"
        )
        if quick:
            print(message + "; skipped")
            return 0
        print(message, file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        figure = measure(plan, loop, json_lib, in_flight)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"instructions: the measurement failed: {exc}", file=sys.stderr)
        return 1
    kind = "last-" + figure.name + ("" if in_flight == 32 else f"-{in_flight}-in-flight")
    path = results_file(kind, quick)
    previous = load_previous(path)
    print(report([figure], quick, previous, width=21, quick_note="never judged"))
    print(f"took {time.perf_counter() - started:.0f} s")
    save(path, quick, [figure], plan=plan.__dict__, in_flight=in_flight)
    if figure.ok is False and not quick:
        print(f"over budget: {figure.name} {figure.value:.3f} {figure.budget}", file=sys.stderr)
        return 1
    return 0
