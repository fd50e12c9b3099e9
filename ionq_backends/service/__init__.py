"""The fleet monitor (`ionq-backends serve`): a live page, `/metrics`, JSON and a history.

    from aiohttp import web
    from ionq_backends.service import create_app

    web.run_app(create_app(db_path="history.sqlite3", interval=60))

It needs the `ionq-backends[service]` extra. Its names load on first use, so that
`ionq_backends.service.cli` can say that the extra is missing instead of failing to import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import MONITOR, create_app
    from ._monitor import Monitor
    from ._store import HistoryError

__all__ = ["MONITOR", "HistoryError", "Monitor", "create_app"]

_HOMES = {
    "MONITOR": "._app",
    "create_app": "._app",
    "Monitor": "._monitor",
    "HistoryError": "._store",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
