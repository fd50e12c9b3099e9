"""Models as JSON values (pure): one converter for the CLI, the monitor and the fleet views.

Datetimes become ISO-8601 UTC with `Z`, durations seconds, enums their value, attrs classes
dicts of their fields.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import cattrs

from ._wire.dates import iso_z

__all__ = ["to_json"]

_CONVERTER = cattrs.Converter()
_CONVERTER.register_unstructure_hook(datetime, iso_z)
_CONVERTER.register_unstructure_hook(timedelta, timedelta.total_seconds)


def to_json(value: Any) -> Any:
    """`value` as plain JSON data (`None` stays `None`)."""
    return _CONVERTER.unstructure(value)
