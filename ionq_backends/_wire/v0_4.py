"""IonQ API v0.4: `median` fidelities, ISO query dates, a path per backend, the fields only it
sends (`kw`, `location`, gates: v0.3 omits them), and the newest characterization as the first
item of a one-item page."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from .._models import Characterization
from .converter import WireConverter
from .dates import iso_z
from .profile import Profile, Request

__all__ = ["PROFILE", "V04"]


class V04(Profile):
    version = "v0.4"
    statistic = "median"
    answers_with_the_backend = True

    def backend(self, quoted: str, *, verbose: bool = False) -> Request:
        return Request(f"backends/{quoted}", public=True)

    def select_backend(self, data: Any, name: str) -> tuple[str, Any]:
        return "", data

    def characterization(self, quoted_backend: str, quoted_id: str) -> Request:
        return Request(f"backends/{quoted_backend}/characterizations/{quoted_id}")

    def characterizations(self, quoted_backend: str, params: Mapping[str, str]) -> Request:
        return Request(f"backends/{quoted_backend}/characterizations", tuple(params.items()))

    def latest_characterization(self, quoted_backend: str) -> Request:
        return self.characterizations(quoted_backend, {"limit": "1", "page": "1"})

    def latest_from(self, data: Any, converter: WireConverter) -> Characterization | None:
        return self.first_of_page(data, converter)

    def encode_when(self, value: date | datetime) -> str:
        # A date stays a date (the API filters by day); a datetime is written in UTC.
        return iso_z(value) if isinstance(value, datetime) else value.isoformat()


PROFILE = V04()
