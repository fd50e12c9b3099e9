"""`_plan`: how a fan-out asks for the backends it names (pure)."""

from __future__ import annotations

from ionq_backends import IonQError
from ionq_backends._plan import asked, unknown_access
from ionq_backends._wire import PROFILES, Request

from .factories import backend


def test_each_name_gets_its_own_request_quoted_as_one_segment() -> None:
    plan = asked(PROFILES["v0.4"], ["qpu.a", "a/b"], verbose=False)
    assert plan == {
        "qpu.a": (Request("backends/qpu.a", public=True), False),
        "a/b": (Request("backends/a%2Fb", public=True), False),
    }


def test_a_name_no_path_can_carry_is_that_names_error_not_the_calls() -> None:
    plan = asked(PROFILES["v0.4"], ["..", "qpu.a"], verbose=False)
    error, listed = plan[".."]
    assert (type(error), str(error), listed) == (IonQError, "invalid backend name '..'", False)
    assert plan["qpu.a"] == (Request("backends/qpu.a", public=True), False)


def test_v03_asks_its_list_for_one_name_verbose_when_asked() -> None:
    verbose = Request("backends", (("status", "verbose"),), public=True)
    assert asked(PROFILES["v0.3"], ["qpu.a"], verbose=True) == {"qpu.a": (verbose, False)}
    plain = Request("backends", public=True)
    assert asked(PROFILES["v0.3"], ["qpu.a"], verbose=False) == {"qpu.a": (plain, False)}


def test_a_backend_seen_without_the_key_says_nothing_of_access() -> None:
    seen = unknown_access(backend(has_access=True))
    assert seen.has_access is None and seen == backend(has_access=None)
