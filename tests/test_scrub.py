"""`Scrubber`: the client's own key out of whatever a server says back, in every container."""

from __future__ import annotations

import pytest

from ionq_backends import APIStatusError, ResponseValidationError
from ionq_backends._scrub import REDACTED, Scrubber

KEY = "k3y-s3cret"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no secret here", "no secret here"),
        (KEY, REDACTED),
        (f"apiKey {KEY}", REDACTED),  # the header value whole, never "apiKey [REDACTED]"
        (f"got apiKey {KEY} and {KEY}", f"got {REDACTED} and {REDACTED}"),
        (f"{KEY}{KEY}", REDACTED * 2),
        (KEY[:-1], KEY[:-1]),  # a prefix of the key is no key
    ],
)
def test_text_replaces_every_occurrence_header_first(text: str, expected: str) -> None:
    assert Scrubber(KEY).text(text) == expected


def test_every_container_is_walked_keys_included_and_its_type_kept() -> None:
    scrub = Scrubber(KEY)
    value = {KEY: [KEY, (KEY, {"deep": [KEY]}), 7, None], "n": 1.5}
    assert scrub.value(value) == {REDACTED: [REDACTED, (REDACTED, {"deep": [REDACTED]}), 7, None],
                                  "n": 1.5}  # fmt: skip
    assert type(scrub.value((KEY,))) is tuple and type(scrub.value([KEY])) is list


@pytest.mark.parametrize("secret", [None, ""])
def test_no_key_scrubs_nothing_and_returns_the_same_error(secret: str | None) -> None:
    error = APIStatusError("text with apiKey x", status_code=500)
    assert Scrubber(secret).error(error) is error
    assert Scrubber(secret).text("apiKey ") == "apiKey "


def test_an_error_is_scrubbed_in_place_every_attribute_and_arg() -> None:
    error = APIStatusError(f"echo {KEY}", status_code=502, request_id=f"id-{KEY}",
                           body={"error": {"message": f"apiKey {KEY}"}})  # fmt: skip
    same = Scrubber(KEY).error(error)
    assert same is error
    assert KEY not in str(error) and KEY not in repr(error)
    assert error.message == f"echo {REDACTED}" and error.request_id == f"id-{REDACTED}"
    assert error.body == {"error": {"message": REDACTED}}
    assert error.args == (f"echo {REDACTED}",)  # the text kept, only the key replaced


def test_problems_of_a_validation_error_are_scrubbed_inside_their_pairs() -> None:
    error = ResponseValidationError([("$.name", f"got {KEY!r}")])
    Scrubber(KEY).error(error)
    assert KEY not in str(error) and KEY not in repr(error.errors)
