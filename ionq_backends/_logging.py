"""The package logger, and the filter that keeps credentials out of every record it emits."""

from __future__ import annotations

import logging
import os
import re

from ._constants import ENV_LOG, LOGGER_NAME

__all__ = ["RedactingFilter", "enable", "enable_from_env", "logger"]

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
    """Rewrite a record so no `Authorization` value or `apiKey` token survives in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


logger = logging.getLogger(LOGGER_NAME)
logger.addFilter(RedactingFilter())


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
