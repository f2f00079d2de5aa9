"""Parameters every service's list routes declare alike, as Litestar annotations.

The checks behind them are framework-free (:mod:`medley_core.pagination`,
:mod:`medley_core.params`); these declarations only give each route the same name, bound and
description in its OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated

from litestar.params import QueryParameter

# Generous: a cursor of a four-part key is under 200 characters. What it holds is checked
# where it is read (medley_core.pagination: anything but a cursor we issued is a 422).
CURSOR_MAX = 2000

Cursor = Annotated[
    str | None,
    QueryParameter(
        max_length=CURSOR_MAX,
        description="the previous page's next_cursor, as given (same sort and filters)",
    ),
]
