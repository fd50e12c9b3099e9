"""What one API version is: the `Profile` a version module fills in, and the `Request` it builds.

The client asks its profile every version question (which path, which parameters, how a date is
written, how one backend is found, what "no characterization" looks like) and branches on none.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, ClassVar, NamedTuple

from cattrs.gen import override

from .._errors import NotFoundError, ResponseValidationError
from .._models import (
    Backend,
    Characterization,
    CharacterizationPage,
    FidelityStat,
    Timing,
)
from .converter import Alias, Shape, WireConverter, build_converter
from .hooks import id_from_url, link_id, mismatch

__all__ = ["Profile", "Request"]


class Request(NamedTuple):
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

    # Converter

    # Backend fields this version never sends: their keys stay in `extra`.
    backend_omits: ClassVar[frozenset[str]] = frozenset()

    def shapes(self) -> dict[type, Shape]:
        """How each model's wire object reads in this version (see `converter.Shape`)."""
        version = {"api_version": self.version}
        other = "median" if self.statistic == "mean" else "mean"
        omitted = {name: override(omit=True) for name in self.backend_omits}
        return {
            Backend: Shape(
                "backend object",
                {
                    "name": override(rename="backend"),
                    **omitted,
                    "characterization_id": override(struct_hook=link_id),
                },
                context=version,
                # Either link key, in either version (2026 fixtures carry v0.4's id in v0.3
                # lists); the id wins when both are there.
                alias=Alias(
                    "characterization_id",
                    "characterization_id",
                    "characterization_url",
                    hook=id_from_url,
                ),
            ),
            Characterization: Shape(
                "characterization object",
                context=version,
                defaults={"backend": None, "date": None},
                alias=Alias("backend", "backend", "target"),  # older API pages name it so
            ),
            # The other statistic is read when it comes alone.
            FidelityStat: Shape(
                "object",
                {"value": override(rename=self.statistic)},
                context={"statistic": self.statistic},
                defaults={"value": None, "stderr": None},
                alias=Alias("value", self.statistic, other, context={"statistic": other}),
            ),
            Timing: Shape(
                "object",
                {"one_qubit": override(rename="1q"), "two_qubit": override(rename="2q")},
                null_is_empty=True,
            ),
            CharacterizationPage: Shape(
                "object", defaults={"characterizations": None, "pages": None}
            ),
        }

    def converter(self, *, strict: bool = False) -> WireConverter:
        """A fresh cattrs converter for this version's JSON (lenient unless `strict`)."""
        return build_converter(self.shapes(), strict)

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
        """The backend names an answer to `list_backends()` holds, in its order. An answer that
        is no array is no news of the fleet: `ResponseValidationError`, never an empty fleet."""
        if type(data) is not list:
            raise ResponseValidationError([mismatch("array of backends", data)])
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
    def latest_from(self, data: Any, converter: WireConverter) -> Characterization | None:
        """The characterization in the answer to `latest_characterization`, or `None`."""

    @abc.abstractmethod
    def encode_when(self, value: date | datetime) -> str:
        """A `start`/`end` query parameter."""

    # Shared helpers for the version modules

    @staticmethod
    def first_of_page(data: Any, converter: WireConverter) -> Characterization | None:
        page = converter.structure(data, CharacterizationPage)
        return page.characterizations[0] if page.characterizations else None

    @staticmethod
    def not_listed(name: str) -> NotFoundError:
        return NotFoundError(f"backend {name!r} is not in the backends list", status_code=404)
