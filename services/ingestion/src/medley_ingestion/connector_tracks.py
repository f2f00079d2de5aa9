"""Connector tracks: each distinct source track stored once per source, resolved once.

:class:`ConnectorTracks` is one import's (or one submission's) view of them: a source
track's key → its row id and the catalog track it resolved to. Keys it has not seen are
looked up together; the missing ones are inserted together (``INSERT … ON CONFLICT DO
NOTHING``, so two imports racing on the same track store it once); the unresolved ones go to
the catalog in batches of up to 1,000, a few batches in flight at once (``concurrency``): the
catalog creates under one write lock, and while it creates one batch it can already parse,
look up and match the next, and ingestion saves what the previous one answered. Every step
is a set-based statement, never a query per listen, and each commits on its own (it is
idempotent: a crash loses nothing).

A resolved track also gets a provisional row in the catalog projection (its title and
artist as the source said them) until the catalog's own event brings the real one, so a
listen is shown with names from the moment it is stored.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.catalog_client import CatalogClient, Refused, Resolved, candidate
from medley_core.db import driver_connection, transaction
from medley_core.ids import new_id, utcnow
from medley_ingestion.importers.records import SourceTrack


@dataclass(slots=True)
class Known:
    """A connector track as stored: resolved (``track_id``), refused, or neither yet."""

    id: uuid.UUID
    track_id: uuid.UUID | None
    refused: str | None

    @property
    def settled(self) -> bool:
        return self.track_id is not None or self.refused is not None


SELECT_BY_KEYS = """
SELECT source_key, id, track_id, refused FROM connector_tracks
WHERE source = $1 AND source_key = ANY($2::text[])
"""

INSERT_NEW = """
INSERT INTO connector_tracks (id, source, source_key, title, artist, album, album_artist,
                              duration_ms, spotify_id, isrc, recording_mbid, recording_msid,
                              extra)
SELECT id, $1, key, title, artist, album, album_artist, duration_ms, spotify_id, isrc,
       recording_mbid, recording_msid, extra::jsonb
FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::int[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
     AS n(id, key, title, artist, album, album_artist, duration_ms, spotify_id, isrc,
          recording_mbid, recording_msid, extra)
ON CONFLICT (source, source_key) DO NOTHING
"""

SAVE_RESOLUTIONS = """
UPDATE connector_tracks AS c
SET track_id = r.track_id, method = r.method, confidence = r.confidence,
    refused = r.refused, resolved_at = $1
FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::smallint[], $6::text[])
     AS r(id, track_id, method, confidence, refused)
WHERE c.id = r.id
"""

# What resolution said about a track, until the catalog's own event brings the real row.
PROVISIONAL_TRACKS = """
INSERT INTO tracks (track_id, title, artist_names, artist_name, album_id, album_title,
                    duration_ms, provisional)
SELECT DISTINCT ON (track_id) track_id, title, artist, artist, album_id, album, duration_ms, true
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::int[])
     AS p(track_id, title, artist, album_id, album, duration_ms)
ON CONFLICT (track_id) DO NOTHING
"""


class ConnectorTracks:
    """The connector tracks of one source, as one import sees them."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        catalog: CatalogClient,
        source: str,
        *,
        concurrency: int = 1,
    ) -> None:
        self.sessions = sessions
        self.catalog = catalog
        self.source = source
        self.concurrency = max(concurrency, 1)
        self.known: dict[str, Known] = {}

    async def ensure(self, tracks: Iterable[SourceTrack]) -> dict[str, Known]:
        """Every track stored and settled (resolved or refused); ``{key: Known}``."""
        wanted: dict[str, SourceTrack] = {}
        for track in tracks:
            wanted.setdefault(track.key, track)
        missing = [key for key in wanted if key not in self.known]
        if missing:
            await self._load(missing)
            new = [wanted[key] for key in missing if key not in self.known]
            if new:
                await self._insert(new)
                await self._load([t.key for t in new])
        unsettled = [wanted[k] for k in wanted if not self.known[k].settled]
        if unsettled:
            await self._resolve(unsettled)
        return {key: self.known[key] for key in wanted}

    async def _load(self, keys: list[str]) -> None:
        async with transaction(self.sessions) as session:
            conn = await driver_connection(session)
            for row in await conn.fetch(SELECT_BY_KEYS, self.source, keys):
                self.known[row["source_key"]] = Known(row["id"], row["track_id"], row["refused"])

    async def _insert(self, tracks: list[SourceTrack]) -> None:
        async with transaction(self.sessions) as session:
            conn = await driver_connection(session)
            await conn.execute(
                INSERT_NEW,
                self.source,
                [new_id() for _ in tracks],
                [t.key for t in tracks],
                [t.title for t in tracks],
                [t.artist for t in tracks],
                [t.album for t in tracks],
                [t.album_artist for t in tracks],
                [t.duration_ms for t in tracks],
                [t.spotify_id for t in tracks],
                [t.isrc for t in tracks],
                [t.recording_mbid for t in tracks],
                [t.recording_msid for t in tracks],
                [json.dumps(t.extra) for t in tracks],
            )

    async def _resolve(self, tracks: list[SourceTrack]) -> None:
        """Resolve ``tracks`` in the catalog's batches, up to ``concurrency`` calls at once;
        each batch's answer is saved (and committed) as it comes."""
        size = max(self.catalog.batch_size, 1)
        batches = [tracks[start : start + size] for start in range(0, len(tracks), size)]
        if self.concurrency == 1 or len(batches) == 1:
            for batch in batches:
                await self._resolve_batch(batch)
            return
        gate = asyncio.Semaphore(self.concurrency)

        async def one(batch: list[SourceTrack]) -> None:
            async with gate:
                await self._resolve_batch(batch)

        try:
            async with asyncio.TaskGroup() as group:
                for batch in batches:
                    group.create_task(one(batch))
        except ExceptionGroup as failed:
            # The callers handle the catalog's errors one at a time (ServiceUnavailable puts
            # a job back in the queue): the first one stands for the batch.
            raise failed.exceptions[0] from None

    async def _resolve_batch(self, tracks: list[SourceTrack]) -> None:
        outcomes = await self.catalog.resolve([_candidate(t) for t in tracks], self.source)
        rows: list[tuple[Any, ...]] = []
        provisional: list[tuple[Any, ...]] = []
        for track, outcome in zip(tracks, outcomes, strict=True):
            known = self.known[track.key]
            if isinstance(outcome, Resolved):
                known.track_id = outcome.track_id
                rows.append((known.id, outcome.track_id, outcome.method, outcome.confidence, None))
                provisional.append(
                    (
                        outcome.track_id,
                        track.title,
                        track.artist,
                        outcome.album_id,
                        track.album,
                        track.duration_ms,
                    )
                )
            else:
                assert isinstance(outcome, Refused)
                known.refused = outcome.reason
                rows.append((known.id, None, None, None, outcome.reason))
        async with transaction(self.sessions) as session:
            conn = await driver_connection(session)
            await _save(conn, rows, provisional)


def _candidate(track: SourceTrack) -> dict[str, Any] | str:
    """What the catalog's resolution takes for a source track, or why it would refuse it."""
    return candidate(
        track.title,
        track.artist,
        album=track.album,
        album_artist=track.album_artist,
        duration_ms=track.duration_ms,
        isrc=track.isrc,
        mbid=track.recording_mbid,
        spotify_id=track.spotify_id,
    )


async def _save(
    conn: asyncpg.Connection[Any], rows: list[tuple[Any, ...]], provisional: list[tuple[Any, ...]]
) -> None:
    if rows:
        columns = list(zip(*rows, strict=True))
        await conn.execute(SAVE_RESOLUTIONS, utcnow(), *[list(c) for c in columns])
    if provisional:
        columns = list(zip(*provisional, strict=True))
        await conn.execute(PROVISIONAL_TRACKS, *[list(c) for c in columns])
