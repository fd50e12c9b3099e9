"""Models as JSON values (pure): one converter for the CLI, the monitor and the fleet views.

Datetimes become ISO-8601 UTC with `Z`, durations seconds, enums their value, attrs classes
dicts of their fields.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

import cattrs

from ._wire.dates import iso_z

__all__ = ["to_json"]


def to_json(value: Any) -> Any:
    """`value` as plain JSON data (`None` stays `None`)."""
    return _converter().unstructure(value)


@functools.cache  # built on first use: `import ionq_backends` pays nothing for it
def _converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_unstructure_hook(datetime, iso_z)
    converter.register_unstructure_hook(timedelta, timedelta.total_seconds)
    return converter
