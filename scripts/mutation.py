"""Mutation testing of the whole package, one module group at a time (docs/testing.md).

    .venv/bin/python scripts/mutation.py               # every group, about 2 hours on 2 cores
    .venv/bin/python scripts/mutation.py transport sse  # the named groups

Each group runs mutmut in a copy of the checkout (so the tree is never touched), mutating only
that group's modules against the tests that exercise them, and prints one line a group:
mutants, killed, survived, not reached in-process (code that runs only in a child process,
which mutmut cannot follow), timeouts. The survivors and their diffs go to `mutation-<group>.txt`.
The copy stays in `.mutation/<group>/` until the next run of that group, so a run stopped
part-way can still be read there with `mutmut results`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# group: (modules to mutate, tests that exercise them)
GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "scrub": (["_scrub.py"], ["test_scrub.py", "test_hardening.py", "test_client.py"]),
    "params": (
        ["_params.py", "_argtypes.py"],
        ["test_params.py", "test_argtypes.py", "test_client_options.py"],
    ),
    "humanize": (["_humanize.py"], ["test_humanize.py", "test_cli_fleet.py"]),
    "transport": (
        ["_transport.py", "_raw.py", "_json.py"],
        [
            "test_transport.py",
            "test_json.py",
            "test_client.py",
            "test_client_options.py",
            "test_faults.py",
            "test_limits.py",
        ],
    ),
    "call": (
        ["_call.py", "_plan.py", "_signals.py"],
        [
            "test_call.py",
            "test_plan.py",
            "test_signals.py",
            "test_sharing.py",
            "test_fanout.py",
            "test_client.py",
            "test_client_options.py",
            "test_faults.py",
            "test_hardening.py",
            "test_wire.py",
            "test_wire_fidelity.py",
            "test_limits.py",
        ],
    ),
    "client": (
        ["_client.py", "_pages.py", "_polling.py"],
        [
            "test_client.py",
            "test_client_fleet.py",
            "test_client_characterizations.py",
            "test_client_options.py",
            "test_fanout.py",
            "test_hardening.py",
            "test_sharing.py",
            "test_wire_fidelity.py",
            "test_watch.py",
            "test_limits.py",
        ],
    ),
    "fleet": (
        ["_models.py", "_ranking.py", "_selection.py"],
        ["test_models.py", "test_ranking.py", "test_selection.py", "test_client_fleet.py"],
    ),
    "store": (
        ["service/_store.py", "service/_sqlite.py", "service/_history.py"],
        ["test_service_store.py", "test_service_logic.py", "test_limits.py"],
    ),
    "metrics": (
        ["service/_metrics.py", "service/_state.py", "service/_durations.py"],
        ["test_service_logic.py", "test_service_app.py", "test_limits.py"],
    ),
    "sse": (
        ["service/_sse.py", "service/_app.py"],
        ["test_service_sse.py", "test_service_app.py", "test_limits.py"],
    ),
    "monitor": (
        ["service/_monitor.py", "service/_ionq_api.py", "service/_hosts.py"],
        [
            "test_service_app.py",
            "test_service_hosts.py",
            "test_service_ionq_api.py",
            "test_service_logic.py",
            "test_limits.py",
        ],
    ),
    "emulator": (
        ["emulator/_faults.py", "emulator/_fleet.py", "emulator/_scenarios.py"],
        ["test_emulator.py", "test_faults.py", "test_limits.py"],
    ),
    "cli": (
        ["_cli/format.py", "_cli/fleet.py", "_cli/commands.py"],
        ["test_cli.py", "test_cli_fleet.py", "test_cli_help.py", "test_argtypes.py"],
    ),
}

ALSO_COPY = ["README.md", "CHANGELOG.md", "docs", "examples", "benchmarks"]

# Tests that pass alone but not inside mutmut's in-process runner (its trampolines change what
# they patch); each is still in the suite.
DESELECT = ["tests/test_cli.py::test_an_unexpected_error_is_one_line_and_exit_1"]

# In-process (no xdist workers, which mutmut cannot see into), without those tests. A mutant
# that hangs a test fails it after 15 s, not the suite's 120: the slowest test takes 5 s.
RUNNER_ARGS = ["-p", "no:cacheprovider", "-n", "0", "--timeout=15",
               *(f"--deselect={d}" for d in DESELECT)]  # fmt: skip

COUNTS = re.compile(r"(\d+)/(\d+)\s+🎉 (\d+) 🫥 (\d+)\s+⏰ (\d+)\s+🤔 (\d+)\s+🙁 (\d+)")


def run_group(name: str) -> str:
    """Run mutmut on one group in its copy (`.mutation/<group>`); return its summary line."""
    modules, tests = GROUPS[name]
    copy = ROOT / ".mutation" / name
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv*", ".git", ".mutation", "mutants", "__pycache__", "*.db"
        ),
    )
    pyproject = copy / "pyproject.toml"
    text = pyproject.read_text()
    start = text.index("[tool.mutmut]")
    end = text.index("\n[", start + 1)
    config = "\n".join(
        [
            "[tool.mutmut]",
            'source_paths = ["ionq_backends"]',
            f"only_mutate = {[f'ionq_backends/{m}' for m in modules]!r}",
            f"pytest_add_cli_args_test_selection = {[f'tests/{t}' for t in tests]!r}",
            # What the tests read besides the package: the README's and docs' examples.
            f"also_copy = {ALSO_COPY!r}",
            "pytest_add_cli_args = " + repr(RUNNER_ARGS),
        ]
    )
    pyproject.write_text(text[:start] + config.replace("'", '"') + "\n" + text[end:])
    mutmut = Path(sys.executable).with_name("mutmut")
    run = subprocess.run(
        [str(mutmut), "run", "--max-children", "2"],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
    )
    last = list(COUNTS.finditer(run.stdout))
    results = subprocess.run(
        [str(mutmut), "results"], cwd=copy, capture_output=True, text=True, check=False
    ).stdout
    lines = results.splitlines()
    survivors = [line.split(":")[0].strip() for line in lines if "survived" in line]
    diffs = [
        subprocess.run(
            [str(mutmut), "show", s], cwd=copy, capture_output=True, text=True, check=False
        ).stdout
        for s in survivors
    ]
    (ROOT / f"mutation-{name}.txt").write_text(results + "\n" + "\n".join(diffs))
    if not last:
        return f"{name}: mutmut failed: {run.stdout[-400:]}{run.stderr[-400:]}"
    _, total, killed, no_tests, timeout, suspicious, survived = map(int, last[-1].groups())
    return (
        f"{name:10} {' '.join(modules)}: {total} mutants, {killed} killed, "
        f"{survived} survived, {no_tests} not reached in-process, {timeout} timed out, "
        f"{suspicious} suspicious"
    )


def main() -> None:
    names = sys.argv[1:] or list(GROUPS)
    for name in names:
        print(run_group(name), flush=True)


if __name__ == "__main__":
    main()
