"""Keep the client's own key out of what a server says back (pure).

A server may echo the `Authorization` value in a message, a body, a request id or a `Location`.
Every error the transport raises passes through `scrub()` before anyone sees it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ._errors import IonQError

__all__ = ["REDACTED", "Scrubber"]

REDACTED = "[REDACTED]"
E = TypeVar("E", bound=IonQError)


class Scrubber:
    """Replace every occurrence of a secret in server-sent text with `[REDACTED]`."""

    __slots__ = ("_secrets",)

    def __init__(self, secret: str | None) -> None:
        # The longest first, so that `apiKey KEY` is replaced whole before `KEY` alone.
        self._secrets = (f"apiKey {secret}", secret) if secret else ()

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def value(self, value: Any) -> Any:
        """`value` with every string inside it scrubbed (dicts, lists and tuples walked)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.value(v) for v in value)
        return value

    def chained(self, error: BaseException) -> None:
        """Scrub, in place, the text of an error chained to ours (aiohttp's, the parsers'): its
        string arguments and attributes. Other values stay: their types are not ours to rebuild."""
        if not self._secrets:
            return
        error.args = tuple(self.text(a) if isinstance(a, str) else a for a in error.args)
        for name, value in vars(error).items():
            if isinstance(value, str):
                setattr(error, name, self.text(value))

    def error(self, error: E) -> E:
        """`error` with every text attribute scrubbed, in place; the same error is returned."""
        if not self._secrets:
            return error
        for name, value in vars(error).items():
            setattr(error, name, self.value(value))
        error.args = tuple(self.value(a) for a in error.args)
        return error
