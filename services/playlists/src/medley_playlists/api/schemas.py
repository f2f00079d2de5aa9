"""Request bodies of the playlists API (validated: a bad field is a 422 naming it)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from medley_core.bodies import PatchBody, RequestBody
from medley_playlists import items, playlists
from medley_playlists.collaboration import CollaboratorRole
from medley_playlists.settings import MAX_ITEMS

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=2000)]
Url = Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://\S+$")]
Visibility = Literal["private", "unlisted", "public"]
Snapshot = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Index = Annotated[int, Field(ge=0, le=MAX_ITEMS)]
# Counts are checked by the domain (a 422 naming the limit); the body size bounds the list.
TrackIds = list[uuid.UUID]


_Body = RequestBody


class PlaylistIn(_Body):
    name: Name
    description: Description | None = None
    visibility: Visibility = "private"
    collaborative: bool = False
    cover_url: Url | None = None

    def fields(self) -> playlists.Fields:
        return playlists.Fields(
            name=self.name,
            description=self.description,
            visibility=self.visibility,
            collaborative=self.collaborative,
            cover_url=self.cover_url,
        )


class PlaylistPatch(PatchBody):
    """Only the fields given change; ``description`` and ``cover_url`` may be null (cleared)."""

    name: Name | None = None
    description: Description | None = None
    visibility: Visibility | None = None
    collaborative: bool | None = None
    cover_url: Url | None = None
    snapshot_id: Snapshot | None = None

    not_nullable = ("name", "visibility", "collaborative")

    def fields(self) -> playlists.Fields:
        cleared = {
            name
            for name in ("description", "cover_url")
            if name in self.model_fields_set and getattr(self, name) is None
        }
        return playlists.Fields(
            name=self.name,
            description=self.description,
            visibility=self.visibility,
            collaborative=self.collaborative,
            cover_url=self.cover_url,
            unset=frozenset(cleared),
        )


class AddItemsIn(_Body):
    track_ids: TrackIds
    position: Index | None = None
    snapshot_id: Snapshot | None = None


class ItemRef(_Body):
    """``{id}``, ``{track_id, position}``, or ``{track_id}`` (every occurrence)."""

    id: uuid.UUID | None = None
    track_id: uuid.UUID | None = None
    position: Index | None = None

    @model_validator(mode="after")
    def _one_way(self) -> ItemRef:
        if (self.id is None) == (self.track_id is None):
            raise ValueError("name an item by id, or by track_id (and position)")
        if self.id is not None and self.position is not None:
            raise ValueError("an item named by id takes no position")
        return self

    def removal(self) -> items.Removal:
        return items.Removal(item_id=self.id, track_id=self.track_id, position=self.position)


class RemoveItemsIn(_Body):
    items: list[ItemRef]
    snapshot_id: Snapshot | None = None


class MoveItemsIn(_Body):
    """Spotify's reorder: ``range_length`` items from ``range_start`` go before the item at
    ``insert_before`` (the playlist's length: to the end)."""

    range_start: Index
    range_length: Annotated[int, Field(ge=1, le=MAX_ITEMS)] = 1
    insert_before: Index
    snapshot_id: Snapshot | None = None


class ReplaceItemsIn(_Body):
    track_ids: TrackIds
    snapshot_id: Snapshot | None = None


class CollaboratorIn(_Body):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    role: CollaboratorRole
