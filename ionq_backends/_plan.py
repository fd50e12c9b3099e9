"""How a fan-out asks for the backends it names (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from ._errors import IonQError
from ._models import Backend
from ._urls import segment
from ._wire import Profile, Request

__all__ = ["Plan", "asked", "unknown_access"]

Plan = dict[str, tuple[Request | IonQError, bool]]  # name -> (its request or error, listed?)


def asked(profile: Profile, names: Iterable[str], *, verbose: bool) -> Plan:
    """Each name's own request; one no path can carry (names are data) is that name's error."""
    plan: Plan = {}
    for name in names:
        try:
            plan[name] = (profile.backend(segment(name, "backend name"), verbose=verbose), False)
        except ValueError as exc:
            plan[name] = (IonQError(str(exc)), False)
    return plan


def unknown_access(backend: Backend) -> Backend:
    """`backend` as a request without the key saw it: what `has_access` says of such a request
    is not what it says of the key."""
    return attrs.evolve(backend, has_access=None)
