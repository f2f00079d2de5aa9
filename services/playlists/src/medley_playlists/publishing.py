"""What the playlists context publishes: one ``playlists.playlist.*`` event per playlist per
change (items changes are an ``updated`` carrying the new snapshot id, not the items),
collected in the transaction's unit of work and written to the outbox once, before commit
(two changes of one playlist in one transaction are one ``updated`` with the final state)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts import playlists as contracts
from medley_core.events.unit_of_work import collect_many

Row = Mapping[str, Any]


def playlist_payload(row: Row) -> contracts.PlaylistV1:
    return contracts.PlaylistV1(
        playlist_id=row["id"],
        owner_id=row["owner_id"],
        name=row["name"],
        description=row["description"],
        visibility=row["visibility"],
        collaborative=row["collaborative"],
        snapshot_id=str(row["snapshot_id"]),
        track_count=row["track_count"],
        duration_ms=row["duration_ms"],
        updated_at=row["updated_at"],
    )


def playlists_changed(session: AsyncSession, rows: Iterable[Row], *, created: bool = False) -> None:
    """One ``created`` or ``updated`` event per playlist row, carrying its new state."""
    event = contracts.PLAYLIST_CREATED if created else contracts.PLAYLIST_UPDATED
    collect_many(session, [(event, playlist_payload(r), str(r["id"])) for r in rows])


def playlists_deleted(
    session: AsyncSession,
    owned: Iterable[tuple[uuid.UUID, uuid.UUID]],
    deleted_at: datetime,
    *,
    erased: bool = False,
) -> None:
    """One ``deleted`` event per ``(playlist id, owner id)``."""
    collect_many(
        session,
        [
            (
                contracts.PLAYLIST_DELETED,
                contracts.PlaylistDeletedV1(
                    playlist_id=playlist_id,
                    owner_id=owner_id,
                    deleted_at=deleted_at,
                    erased=erased,
                ),
                str(playlist_id),
            )
            for playlist_id, owner_id in owned
        ],
        occurred_at=deleted_at,
    )
