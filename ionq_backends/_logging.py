"""The package logger, and the filter that keeps credentials out of every record it emits."""

from __future__ import annotations

import logging
import re

from ._constants import LOGGER_NAME

__all__ = ["RedactingFilter", "logger"]

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
