"""Request bodies every service reads the same way (pydantic models).

A body names its fields: an unknown one is a 422, never silently ignored, and a body is
frozen once read. A PATCH changes only the fields it gives; some of those may be left out
but never sent as ``null`` (a name, a title), and :class:`PatchBody` refuses that with a 422
naming the field.
"""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator


class RequestBody(BaseModel):
    """A JSON request body: unknown fields refused, frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PatchBody(RequestBody):
    """A PATCH body: only the fields given change. ``not_nullable`` names the fields that
    may be left out but not set to ``null``."""

    not_nullable: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        for name in self.not_nullable:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self
