"""The command line's help, every command's, rendered in-process and pinned in
`tests/cli/help.txt`: it is the interface a user reads first.

After changing an option or its help on purpose, write the file again:

    COLUMNS=100 .venv/bin/python -m tests.test_cli_help
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from ionq_backends import _cli as cli

PINNED = Path(__file__).parent / "cli" / "help.txt"


def every_help() -> str:
    """`--help` of the command line and of each of its commands, as one text."""
    top = cli.parser()
    (commands,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    chosen: dict[str, Any] = commands.choices
    parts = [top.format_help(), *(chosen[name].format_help() for name in sorted(chosen))]
    return "\n".join(parts).replace(cli.VERSION, "VERSION")


def test_every_commands_help_is_what_users_were_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")  # argparse wraps to the terminal's width
    assert every_help() == PINNED.read_text()


if __name__ == "__main__":
    os.environ["COLUMNS"] = "100"
    PINNED.write_text(every_help())
    sys.stdout.write(f"wrote {PINNED}\n")
