"""IonQ API v0.3: `mean` fidelities, epoch-millisecond query dates, `?status=verbose`, and no
single-backend path (one backend is picked from the list). It sends epoch datetimes and
`characterization_url` links; the shared tables read either encoding and either link."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from .._models import Characterization
from .converter import WireConverter
from .dates import epoch_millis
from .profile import Profile, Request

__all__ = ["PROFILE", "V03"]


class V03(Profile):
    version = "v0.3"
    statistic = "mean"
    verbose_status = True
    latest_absent_statuses = frozenset({404})  # `current` of a backend never characterized
    backend_omits = frozenset(
        {"kw", "location", "supported_gates", "supported_native_gates",
         "supported_error_mitigations"}
    )  # fmt: skip

    def backend(self, quoted: str, *, verbose: bool = False) -> Request:
        return self.list_backends(verbose=verbose)

    def select_backend(self, data: Any, name: str) -> tuple[str, Any]:
        return self.select_listed(data, name)

    def characterization(self, quoted_backend: str, quoted_id: str) -> Request:
        return Request(f"characterizations/{quoted_id}")

    def characterizations(self, quoted_backend: str, params: Mapping[str, str]) -> Request:
        return Request(f"characterizations/backends/{quoted_backend}", tuple(params.items()))

    def latest_characterization(self, quoted_backend: str) -> Request:
        return Request(f"characterizations/backends/{quoted_backend}/current")

    def latest_from(self, data: Any, converter: WireConverter) -> Characterization | None:
        if data is None or data == [] or data == {}:
            return None
        found: Characterization = converter.structure(data, Characterization)
        return found

    def encode_when(self, value: date | datetime) -> str:
        return epoch_millis(value)


PROFILE = V03()
