"""The package logger, and the filter that keeps credentials out of every record it emits."""

from __future__ import annotations

import logging
import os
import re

from ._constants import ENV_LOG, LOGGER_NAME
from ._humanize import printable

__all__ = ["RedactingFilter", "enable", "enable_from_env", "logger", "package_logger"]

# `Authorization: apiKey abc`, `'Authorization': 'apiKey abc'`, or a bare `apiKey abc`.
_SECRET = re.compile(
    r"""(?ix)
    (authorization['"]?\s*[:=]\s*['"]?)[^'",}\n]+
    | (apikey\s+)[^\s'",}]+
    """
)


def _redact(text: str) -> str:
    return _SECRET.sub(lambda m: (m.group(1) or m.group(2)) + "[REDACTED]", text)


class RedactingFilter(logging.Filter):
    """Rewrite a record so no `Authorization` value or `apiKey` token survives in it, and no
    text from a server forges a line: controls and lone surrogates are escaped (`printable`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = printable(_redact(message))
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def package_logger(name: str) -> logging.Logger:
    """The logger `name` with the redacting filter: a logger's filters do not apply to its
    children's records, so each logger of the package carries its own."""
    found = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in found.filters):
        found.addFilter(RedactingFilter())
    return found


logger = package_logger(LOGGER_NAME)


def enable_from_env(value: str | None) -> logging.Handler | None:
    """`IONQ_LOG=debug|info|warning` prints the package's log lines on stderr, without code.

    Returns the handler it added (none when unset or unknown; an unknown level is ignored
    rather than raised, because it is read at import time).
    """
    level = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}.get(
        (value or "").strip().lower()
    )
    return None if level is None else enable(level)


def enable(level: int) -> logging.Handler:
    """Print the package's log lines at `level` and above on stderr (once per process)."""
    logger.setLevel(min(level, logger.level or level))
    for handler in logger.handlers:
        if getattr(handler, "_ionq", False):
            return handler
    handler = logging.StreamHandler()
    handler._ionq = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    return handler


enable_from_env(os.environ.get(ENV_LOG))
