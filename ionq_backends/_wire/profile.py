"""What one API version is: the `Profile` a version module fills in, and the `Request` it builds.

The client asks its profile every version question (which path, which parameters, how a date is
written, how one backend is found, what "no characterization" looks like) and branches on none.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, ClassVar

import attrs
import cattrs

from .._errors import NotFoundError, ResponseValidationError
from .._models import Backend, Characterization
from .characterization import fidelity
from .characterization import timing as timing_parser
from .converter import Structurers, Tables, build_converter, build_structurers
from .parse import (
    Parser,
    Table,
    boolean,
    id_from_url,
    integer,
    link_id,
    mismatch,
    number,
    pairs,
    status,
    string,
    when,
)
from .parse import strings as string_list

__all__ = ["Profile", "Request", "structure_backend"]


@attrs.frozen
class Request:
    """One GET: `path` below the version root (its segments already quoted) and its query."""

    path: str
    params: tuple[tuple[str, str], ...] = ()
    # Public endpoints answer without a key; one that answers 401 to a key is asked once more
    # without it (qBraid/qBraid#1194).
    public: bool = False

    @property
    def query(self) -> Mapping[str, str] | None:
        return dict(self.params) if self.params else None


class Profile(abc.ABC):
    """One IonQ API version. Subclasses fill in the class attributes and the abstract methods."""

    version: ClassVar[str]
    # Which fidelity statistic the version reports ("mean" or "median").
    statistic: ClassVar[str]
    # Whether `GET backends?status=verbose` exists.
    verbose_status: ClassVar[bool] = False
    # Whether the answer to `backend(...)` is the backend's own JSON (`select_backend` returns
    # it whole), so a client may structure it without a search.
    answers_with_the_backend: ClassVar[bool] = False
    # Answers of the latest-characterization request that mean "there is none".
    latest_absent_statuses: ClassVar[frozenset[int]] = frozenset()

    # Field tables and converter

    def backend_fields(self, strict: bool) -> dict[str, tuple[str, Parser]]:
        """Wire key -> (Backend attribute, parser): the keys every version shares."""
        return {
            "backend": ("name", string),
            "status": ("status", status(strict)),
            "qubits": ("qubits", integer),
            "average_queue_time": ("average_queue_time", number),
            "last_updated": ("last_updated", when),
            "degraded": ("degraded", boolean),
            "noise_models": ("noise_models", string_list),
            "has_access": ("has_access", boolean),
            # Either link key, in either version (2026 fixtures carry v0.4's id in v0.3 lists);
            # the id wins when both are there.
            "characterization_id": ("characterization_id", link_id),
            "characterization_url": ("characterization_id", id_from_url),
        }

    def characterization_fields(self, strict: bool) -> dict[str, tuple[str, Parser]]:
        """Wire key -> (Characterization attribute, parser)."""
        return {
            "id": ("id", string),
            "backend": ("backend", string),
            "target": ("backend", string),  # older API pages name the backend so
            "date": ("date", when),
            "qubits": ("qubits", integer),
            "connectivity": ("connectivity", pairs),
            "fidelity": ("fidelity", fidelity(self.statistic, strict)),
            "timing": ("timing", timing_parser(strict)),
        }

    def structurers(self, *, strict: bool = False) -> Structurers:
        """This version's structure functions (lenient unless `strict`)."""
        tables = Tables(
            backend=Table(self.backend_fields(strict), frozenset({"backend", "status"})),
            characterization=Table(self.characterization_fields(strict), frozenset({"id"})),
        )
        return build_structurers(self.version, tables, strict)

    def converter(self, *, strict: bool = False) -> cattrs.Converter:
        """A fresh cattrs converter for this version's JSON (lenient unless `strict`)."""
        return build_converter(self.structurers(strict=strict))

    # Requests

    def list_backends(self, *, verbose: bool = False) -> Request:
        return Request("backends", (("status", "verbose"),) if verbose else (), public=True)

    @abc.abstractmethod
    def backend(self, quoted: str, *, verbose: bool = False) -> Request:
        """The request that answers for one backend (several names may share it)."""

    @abc.abstractmethod
    def select_backend(self, data: Any, name: str) -> tuple[str, Any]:
        """Find `name` in the answer to `backend(...)`: (its JSON path, its JSON).

        Raises `NotFoundError` when the answer does not hold it.
        """

    def select_listed(self, data: Any, name: str) -> tuple[str, Any]:
        """Find `name` in the answer to `list_backends()`, as `select_backend` does."""
        if type(data) is not list:
            raise ResponseValidationError([mismatch("array of backends", data)])
        for index, item in enumerate(data):
            if type(item) is dict and item.get("backend") == name:
                return f"[{index}]", item
        raise self.not_listed(name)

    @staticmethod
    def listed_names(data: Any) -> list[str]:
        """The backend names an answer to `list_backends()` holds, in its order."""
        if type(data) is not list:
            return []
        names = (item.get("backend") for item in data if type(item) is dict)
        return list(dict.fromkeys(n for n in names if type(n) is str))

    @abc.abstractmethod
    def characterization(self, quoted_backend: str, quoted_id: str) -> Request: ...

    @abc.abstractmethod
    def characterizations(self, quoted_backend: str, params: Mapping[str, str]) -> Request:
        """One page of a backend's characterizations (`limit`, `page`, `start`, `end`)."""

    @abc.abstractmethod
    def latest_characterization(self, quoted_backend: str) -> Request: ...

    @abc.abstractmethod
    def latest_from(self, data: Any, structure: Structurers) -> Characterization | None:
        """The characterization in the answer to `latest_characterization`, or `None`."""

    @abc.abstractmethod
    def encode_when(self, value: date | datetime) -> str:
        """A `start`/`end` query parameter."""

    # Shared helpers for the version modules

    @staticmethod
    def first_of_page(data: Any, structure: Structurers) -> Characterization | None:
        page = structure.page(data)
        return page.characterizations[0] if page.characterizations else None

    @staticmethod
    def not_listed(name: str) -> NotFoundError:
        return NotFoundError(f"backend {name!r} is not in the backends list", status_code=404)


def structure_backend(structure: Structurers, where: str, item: Any) -> Backend:
    """Structure one backend found at `where` in a larger body, its problems placed there."""
    if not where:
        return structure.backend(item)
    try:
        return structure.backend(item)
    except ResponseValidationError as error:
        raise error.under(where) from None
