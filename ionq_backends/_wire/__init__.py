"""The wire layer: what each IonQ API version sends and expects, as pure data and functions.

No I/O lives here. Each version is one module holding a `Profile`; `PROFILES` registers them.
Adding a version is one module here plus its rendering in the emulator.
"""

from __future__ import annotations

import functools

from . import v0_3, v0_4
from .converter import WireConverter
from .profile import Profile, Request
from .response import decipher_response

__all__ = [
    "PROFILES",
    "Profile",
    "Request",
    "decipher_response",
    "make_converter",
    "profile_for",
    "shared_converter",
]

PROFILES: dict[str, Profile] = {p.version: p for p in (v0_3.PROFILE, v0_4.PROFILE)}


def profile_for(api_version: str) -> Profile:
    """The profile of `api_version`, or `ValueError` naming the versions that exist."""
    found = PROFILES.get(api_version) if isinstance(api_version, str) else None
    if found is None:
        raise ValueError(
            f"unknown api_version {api_version!r}: expected one of {', '.join(PROFILES)}"
        )
    return found


def make_converter(api_version: str, *, strict: bool = False) -> WireConverter:
    """Build a fresh converter that structures `api_version`'s JSON into the models.

    Lenient by default: unknown keys go to `extra`, unknown statuses stay strings. With
    `strict=True` both are errors. Backend names are never checked. Every failure is a
    `ResponseValidationError` naming each problem's JSON path.
    """
    return profile_for(api_version).converter(strict=strict)


@functools.cache
def shared_converter(api_version: str, *, strict: bool = False) -> WireConverter:
    """The converter every client of `api_version` uses, built once: cattrs registers each
    generated function with `linecache`, so one converter per client would grow it forever."""
    return make_converter(api_version, strict=strict)
