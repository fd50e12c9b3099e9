"""Characterizations page by page, trusting neither the API's `pages` count nor its `page`."""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator, Callable
from typing import Any

from ._call import Caller
from ._errors import ResponseValidationError
from ._models import Characterization, CharacterizationPage
from ._wire import Request

__all__ = ["pages"]


async def pages(
    caller: Caller,
    request: Callable[[int], Request],
    structure: Callable[[Any], CharacterizationPage],
    page_size: int,
) -> AsyncGenerator[Characterization, None]:
    """Every item of pages 1, 2, ... (`request(number)`), to the first shorter than `page_size`.

    A page that repeats an earlier one (a server that ignores `page`) is a validation error, not
    an endless loop.
    """
    seen: dict[tuple[str, ...], int] = {}  # each page's ids, and its number
    for number in itertools.count(1):

        def new_page(data: Any, number: int = number) -> CharacterizationPage:
            page = structure(data)
            ids = tuple(c.id for c in page.characterizations)
            if ids in seen:
                problem = (".characterizations", f"page {number} repeats page {seen[ids]}")
                raise ResponseValidationError([problem])
            seen[ids] = number
            return page

        page, _reply = await caller.get(request(number), new_page)
        for item in page.characterizations:
            yield item
        if len(page.characterizations) < page_size:
            return
