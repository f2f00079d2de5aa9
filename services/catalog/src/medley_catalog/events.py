"""What the catalog publishes, and how it reacts to other contexts' events.

Publishes ``catalog.{track,album,artist}.{created,updated,deleted,merged}`` and
``catalog.user_data.erased``: write paths collect them into the transaction's unit of work
(:mod:`medley_core.events.unit_of_work`), which writes them to the outbox once, at commit,
one per entity per change.

Consumes:

* ``ingestion.listens.recorded`` → global play counts (:mod:`medley_catalog.popularity`);
* ``users.user.deleted`` → the catalog holds nothing a user owns: it answers
  ``catalog.user_data.erased`` at once so the erasure saga completes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog import popularity
from medley_catalog.queries import EntityType, Row, fetch
from medley_contracts import catalog as contracts
from medley_contracts.envelope import EventEnvelope, EventType
from medley_contracts.ingestion import LISTENS_RECORDED
from medley_contracts.users import USER_DELETED, UserDataErasedV1
from medley_core.db import driver_connection
from medley_core.events.runtime import EventHandler
from medley_core.events.unit_of_work import collect, collect_many
from medley_core.ids import utcnow

log = logging.getLogger("medley.catalog.events")

CONTEXT = "catalog"
USER_DATA_ERASED = contracts.USER_DATA_ERASED

CREATED: dict[EntityType, EventType[Any]] = {
    "track": contracts.TRACK_CREATED,
    "album": contracts.ALBUM_CREATED,
    "artist": contracts.ARTIST_CREATED,
}
UPDATED: dict[EntityType, EventType[Any]] = {
    "track": contracts.TRACK_UPDATED,
    "album": contracts.ALBUM_UPDATED,
    "artist": contracts.ARTIST_UPDATED,
}
DELETED: dict[EntityType, EventType[Any]] = {
    "track": contracts.TRACK_DELETED,
    "album": contracts.ALBUM_DELETED,
    "artist": contracts.ARTIST_DELETED,
}
MERGED: dict[EntityType, EventType[Any]] = {
    "track": contracts.TRACK_MERGED,
    "album": contracts.ALBUM_MERGED,
    "artist": contracts.ARTIST_MERGED,
}

PUBLISHES: tuple[EventType[Any], ...] = (
    *CREATED.values(),
    *UPDATED.values(),
    *DELETED.values(),
    *MERGED.values(),
    USER_DATA_ERASED,
)


def _credits(row: Row) -> list[contracts.ArtistCreditV1]:
    return [
        contracts.ArtistCreditV1(
            artist_id=c["artist_id"], name=c["name"], join_phrase=c["join_phrase"]
        )
        for c in row.get("credits", [])
    ]


def _genres(row: Row) -> list[str]:
    return [g["name"] for g in row.get("genres", [])]


def track_payload(row: Row) -> contracts.TrackV1:
    album = row.get("album")
    return contracts.TrackV1(
        track_id=row["id"],
        title=row["title"],
        artist_names=row["artist_names"],
        credits=_credits(row),
        album_id=row["album_id"],
        album_title=album["title"] if album else None,
        album_year=album["release_year"] if album else None,
        duration_ms=row["duration_ms"],
        disc_number=row["disc_number"],
        track_number=row["track_number"],
        explicit=row["explicit"],
        isrcs=[e["value"] for e in row.get("external_ids", []) if e["namespace"] == "isrc"],
        genres=_genres(row),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def album_payload(row: Row) -> contracts.AlbumV1:
    return contracts.AlbumV1(
        album_id=row["id"],
        title=row["title"],
        album_type=row["album_type"],
        artist_names=row["artist_names"],
        credits=_credits(row),
        release_date=row["release_date"],
        release_year=row["release_year"],
        total_tracks=row["total_tracks"],
        cover_url=row["cover_url"],
        genres=_genres(row),
        updated_at=row["updated_at"],
    )


def artist_payload(row: Row) -> contracts.ArtistV1:
    return contracts.ArtistV1(
        artist_id=row["id"],
        name=row["name"],
        sort_name=row["sort_name"],
        updated_at=row["updated_at"],
    )


def snapshot(entity_type: EntityType, row: Row) -> BaseModel:
    if entity_type == "track":
        return track_payload(row)
    if entity_type == "album":
        return album_payload(row)
    return artist_payload(row)


async def snapshots(
    session: AsyncSession, entity_type: EntityType, ids: Iterable[uuid.UUID]
) -> list[tuple[uuid.UUID, BaseModel]]:
    """The current snapshot of each live entity among ``ids`` (for created/updated events)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    conn = await driver_connection(session)
    found = await fetch(conn, entity_type, wanted, full=False)
    return [(i, snapshot(entity_type, found[i])) for i in wanted if i in found]


async def collect_changed(
    session: AsyncSession,
    entity_type: EntityType,
    ids: Iterable[uuid.UUID],
    *,
    created: bool = False,
) -> None:
    """A ``created`` or ``updated`` event for each live entity among ``ids``, carrying its
    state as the transaction has left it so far: call it after the write. The unit of work
    keeps one per entity per change (a later call for the same entity replaces it)."""
    event_type = (CREATED if created else UPDATED)[entity_type]
    collect_many(
        session,
        [
            (event_type, payload, str(i))
            for i, payload in await snapshots(session, entity_type, ids)
        ],
    )


def collect_deleted(
    session: AsyncSession, entity_type: EntityType, entity_id: uuid.UUID, deleted_at: datetime
) -> None:
    collect(
        session,
        DELETED[entity_type],
        contracts.EntityDeletedV1(id=entity_id, deleted_at=deleted_at),
        subject=str(entity_id),
        occurred_at=deleted_at,
    )


def collect_merged(
    session: AsyncSession,
    entity_type: EntityType,
    from_id: uuid.UUID,
    into_id: uuid.UUID,
    merged_at: datetime,
) -> None:
    collect(
        session,
        MERGED[entity_type],
        contracts.EntityMergedV1.model_validate(
            {"from": from_id, "into": into_id, "merged_at": merged_at}
        ),
        subject=str(from_id),
        occurred_at=merged_at,
    )


# --- consumed events ---------------------------------------------------------------------


async def on_listens_recorded(session: AsyncSession, envelope: EventEnvelope) -> None:
    payload = LISTENS_RECORDED.parse(envelope)
    applied = await popularity.apply_listens(session, payload.batch_id, payload.plays_per_track())
    log.info(
        "listens batch %s: %s",
        payload.batch_id,
        f"{applied} plays counted" if applied is not None else "already counted",
    )


async def on_user_deleted(session: AsyncSession, envelope: EventEnvelope) -> None:
    """Nothing in the catalog belongs to a user: the erasure step is done as soon as asked."""
    payload = USER_DELETED.parse(envelope)
    collect(
        session,
        USER_DATA_ERASED,
        UserDataErasedV1(
            user_id=payload.user_id,
            erasure_id=payload.erasure_id,
            context=CONTEXT,
            erased_at=utcnow(),
        ),
        subject=str(payload.user_id),
    )
    log.info("erasure %s: catalog holds no data of user %s", payload.erasure_id, payload.user_id)


def handlers() -> dict[str, EventHandler]:
    """``{event type: handler}`` for the app factory."""
    return {
        LISTENS_RECORDED.name: on_listens_recorded,
        USER_DELETED.name: on_user_deleted,
    }
