"""What the emulator refuses before any route, as an HTTP API's front end does: a request line
past `EMULATOR_MAX_URL` (414), headers past `EMULATOR_MAX_HEADERS` (431), and, quietly, what
aiohttp's parser cannot read at all."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from .._constants import EMULATOR_MAX_HEADERS, EMULATOR_MAX_URL, EMULATOR_PARSER_LIMIT
from ._faults import error

__all__ = ["PARSER", "too_large"]


def too_large(request: web.Request) -> web.Response | None:
    """414 or 431 for a request line or headers past what an HTTP API's front end takes."""
    if len(request.raw_path) > EMULATOR_MAX_URL:
        return error(414, f"request URI longer than {EMULATOR_MAX_URL} bytes")
    size, fields = EMULATOR_MAX_HEADERS
    raw = request.raw_headers
    if len(raw) > fields or sum(len(k) + len(v) for k, v in raw) > size:
        return error(431, f"request headers past {size} bytes or {fields} fields")
    return None


class _OneLine(logging.Filter):
    """A request aiohttp cannot even parse (past EMULATOR_PARSER_LIMIT): one INFO line, not an
    ERROR with a traceback on the CLI's stderr."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.msg, record.args = "refused a request it cannot parse: %s", (exc.message,)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


SERVER_LOG = logging.getLogger("ionq_backends.emulator.server")
SERVER_LOG.addFilter(_OneLine())

# The emulator's `web.AppRunner` options for aiohttp's parser.
PARSER: dict[str, Any] = {
    "max_line_size": EMULATOR_PARSER_LIMIT,
    "max_field_size": EMULATOR_PARSER_LIMIT,
    "max_headers": EMULATOR_PARSER_LIMIT,
    "logger": SERVER_LOG,
}
