"""How ingestion's routes declare and read ids (the checks are medley_core.params')."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar.params import PathParameter

from medley_core.params import parse_id

# Documented as a UUID; parsed by parse_id, so a malformed id is a 422 naming the field
# rather than a bare "no such route".
UuidPath = Annotated[str, PathParameter(format="uuid", max_length=64)]


def optional_id(value: str | None, name: str) -> uuid.UUID | None:
    """An optional id parameter (a 422 naming it when it is not a UUID)."""
    return None if value is None else parse_id(value, name)
