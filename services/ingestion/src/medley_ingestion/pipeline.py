"""Running one claimed import job, from its upload to ``completed`` or ``failed``.

1. **Check** (nothing stored yet): the upload is opened (zip limits, traversal, nesting),
   each entry's kind is told from its content, and every entry taken is read whole and
   checked (well-formed JSON, UTF-8, a CSV of a known shape). A file broken as a whole fails
   the job here, with the entry and the position, before any of its listens is stored — so
   a user who downloads again and re-imports gets exactly one copy of everything.
2. **Import**, chunk by chunk (``import_chunk_records`` records): the chunk's distinct
   source tracks are stored and resolved through the catalog (:mod:`.connector_tracks`),
   then one transaction stores its plays and likes (:mod:`.plays`, :mod:`.likes`), lists its
   rejected and unmatched records, advances the job's counters and checkpoint, and writes
   its events to the outbox. A job resumed after a crash starts at its checkpoint and ends
   with exactly the counts of an uninterrupted run.
3. **End**: ``completed`` with the counts, or ``failed`` with the reason. A catalog that
   cannot be reached puts the job back in the queue (it resumes later) until it has been
   tried :data:`MAX_ATTEMPTS` times.

A cancel request is honoured at the next chunk: what was stored until then stays.
"""

# ruff: noqa: S608 -- SQL here is assembled from fixed fragments, never from input.

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from uuid_utils import uuid7

from medley_core.catalog_client import CatalogClient
from medley_core.db import driver_connection, transaction
from medley_core.errors import ServiceUnavailable
from medley_core.metrics import count_listens_imported
from medley_ingestion import events, stats
from medley_ingestion.connector_tracks import ConnectorTracks, Known
from medley_ingestion.importers import EMPTY, HEAD_BYTES, Kind, detect
from medley_ingestion.importers.archive import ArchiveLimits, Entry, Upload, open_upload
from medley_ingestion.importers.common import ReadContext
from medley_ingestion.importers.records import (
    SKIP_COUNTERS,
    FileError,
    Liked,
    Listen,
    Outcome,
    Rejected,
    Skipped,
    SourceTrack,
)
from medley_ingestion.jobs import Lease
from medley_ingestion.likes import LikeRow, store_likes
from medley_ingestion.models import JOB_COUNTERS as COUNTERS
from medley_ingestion.plays import lock_user, store_and_record_plays
from medley_ingestion.settings import IngestionSettings

log = logging.getLogger("medley.ingestion.pipeline")

MAX_ATTEMPTS = 5
# Likes (library, feedback) are read after listens: feedback may name a recording only by
# the id its listens carried.
LIKE_KINDS = frozenset({"spotify_library", "listenbrainz_feedback"})


class LeaseLost(RuntimeError):
    """The job is no longer this worker's (erased, or claimed again after a lost lock)."""


class Cancelled(RuntimeError):
    """The user cancelled the job."""


# --- 1. check ---------------------------------------------------------------------------


def plan_upload(upload: Upload, requested_format: str | None) -> list[tuple[Entry, Kind]]:
    """The entries to import and their kinds, each one read whole and checked; FileError for
    an upload that cannot be imported. Synchronous (run it in a thread)."""
    plan: list[tuple[Entry, Kind]] = []
    found: set[str] = set()
    for entry in upload.entries:
        kind = detect(upload.head(entry, HEAD_BYTES))
        if kind is None:
            if not upload.is_zip:
                raise FileError(
                    "not a listening history Medley knows (Spotify, Last.fm CSV, ListenBrainz)",
                    entry=entry.name,
                )
            continue  # an export's other files (profile, playlists…)
        if kind is not EMPTY:
            found.add(kind.format)
            if requested_format and kind.format != requested_format:
                continue
        try:
            kind.check(upload.read(entry))
        except FileError as exc:
            raise exc.at(entry.name) from None
        if kind is not EMPTY:
            plan.append((entry, kind))
    if requested_format and not plan and found:
        raise FileError(
            f"the upload is not a {requested_format} export (it holds {', '.join(sorted(found))})"
        )
    if not plan and not found:
        raise FileError("no listening history found in the upload")
    plan.sort(key=lambda item: (item[1].name in LIKE_KINDS, item[0].name))
    return plan


# --- 2. import --------------------------------------------------------------------------


@dataclass
class Chunk:
    """Consecutive records of one entry: ``start`` is the index of the first."""

    entry_index: int
    entry: Entry
    kind: Kind
    start: int
    outcomes: list[Outcome] = field(default_factory=list)
    end_of_entry: bool = False

    @property
    def next_position(self) -> dict[str, int]:
        if self.end_of_entry:
            return {"entry": self.entry_index + 1, "record": 0}
        return {"entry": self.entry_index, "record": self.start + len(self.outcomes)}


def read_chunks(
    upload: Upload,
    plan: list[tuple[Entry, Kind]],
    checkpoint: dict[str, Any] | None,
    ctx: ReadContext,
    size: int,
) -> Iterator[Chunk]:
    """The records still to import, from the checkpoint on, in chunks of ``size``."""
    first_entry = int((checkpoint or {}).get("entry", 0))
    first_record = int((checkpoint or {}).get("record", 0))
    for index in range(first_entry, len(plan)):
        entry, kind = plan[index]
        skip = first_record if index == first_entry else 0
        reader = kind.read(upload.read(entry), ReadContext(ctx.now, ctx.min_listen_ms, skip))
        chunk = Chunk(index, entry, kind, skip)
        for outcome in reader:
            if len(chunk.outcomes) >= size:
                # Only once another record follows: the entry's last chunk says it is.
                yield chunk
                chunk = Chunk(index, entry, kind, chunk.start + len(chunk.outcomes))
            chunk.outcomes.append(outcome)
        chunk.end_of_entry = True
        yield chunk


@dataclass
class ChunkResult:
    counts: Counter[str]
    rejections: list[tuple[str, str, str]]
    plays: list[tuple[Any, ...]]
    likes: list[LikeRow]


class JobRun:
    """One worker's run of one claimed job."""

    def __init__(
        self,
        settings: IngestionSettings,
        sessions: async_sessionmaker[AsyncSession],
        catalog: CatalogClient,
        lease: Lease,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.catalog = catalog
        self.lease = lease
        self.job = lease.job
        self.connectors: dict[str, ConnectorTracks] = {}
        self._stored_any = False  # this run stored plays: the stats' statistics need a refresh

    def _connectors(self, source: str) -> ConnectorTracks:
        if source not in self.connectors:
            self.connectors[source] = ConnectorTracks(
                self.sessions,
                self.catalog,
                source,
                concurrency=self.settings.resolve_concurrency,
            )
        return self.connectors[source]

    async def run(self) -> str:
        """Run the job to its end (or put it back); the status it was left in."""
        job = self.job
        if job.attempts > MAX_ATTEMPTS:
            return await self._finish("failed", f"gave up after {MAX_ATTEMPTS} attempts")
        if job.upload_path is None:
            return await self._finish("failed", "the upload was deleted")
        path = self.settings.uploads_dir / job.upload_path
        if not path.exists():
            return await self._finish("failed", "the upload is missing from the data directory")
        await self._started()
        try:
            return await self._import(path)
        except FileError as exc:
            position = ": ".join(p for p in (exc.entry, exc.position) if p) or None
            return await self._finish("failed", exc.message, position)
        except Cancelled:
            return "cancelled"
        except ServiceUnavailable as exc:
            log.warning("import %s waits for the catalog: %s", job.id, exc.detail)
            return await self._requeue(f"will retry: {exc.detail}")

    async def _import(self, path: Path) -> str:
        limits = ArchiveLimits(
            self.settings.max_unpacked_bytes,
            self.settings.max_compression_ratio,
            self.settings.max_archive_entries,
        )
        with open_upload(path, self.job.filename, limits) as upload:
            plan = await asyncio.to_thread(plan_upload, upload, self.job.requested_format)
            await self._detected(sorted({kind.format for _, kind in plan}))
            ctx = ReadContext(self.job.created_at, self.settings.min_listen_ms)
            chunks = read_chunks(
                upload, plan, self.job.checkpoint, ctx, self.settings.import_chunk_records
            )
            # The next chunk is read (in a thread) while this one is resolved and stored.
            ahead = asyncio.ensure_future(asyncio.to_thread(next, chunks, None))
            try:
                while True:
                    began = time.perf_counter()
                    chunk = await ahead
                    if chunk is None:
                        break
                    read = time.perf_counter()
                    prepared = await self._prepare(chunk)
                    ahead = asyncio.ensure_future(asyncio.to_thread(next, chunks, None))
                    resolved = time.perf_counter()
                    if not await self._store(chunk, prepared):
                        raise Cancelled
                    log.info(
                        "import %s: %d records of %s: waited %.2fs for them, resolved in "
                        "%.2fs, stored in %.2fs",
                        self.job.id,
                        len(chunk.outcomes),
                        chunk.entry.name,
                        read - began,
                        resolved - read,
                        time.perf_counter() - resolved,
                    )
            finally:
                # The reader must be done with the upload before it is closed.
                await asyncio.wait([ahead])
        if self._stored_any:
            await self._refresh_statistics()
        return await self._finish("completed")

    async def _refresh_statistics(self) -> None:
        """Fresh planner statistics for the stats this import changed (see
        :func:`medley_ingestion.stats.refresh_planner_statistics`)."""
        async with transaction(self.sessions) as session:
            if not await stats.refresh_planner_statistics(await driver_connection(session)):
                log.info("import %s: statistics left to autovacuum (a table was busy)", self.job.id)

    # -- a chunk --------------------------------------------------------------------------

    async def _prepare(self, chunk: Chunk) -> ChunkResult:
        """Resolve the chunk's tracks and sort its records into rows and counts."""
        source = chunk.kind.source
        connectors = self._connectors(source)
        tracks: list[SourceTrack] = [
            o.track for o in chunk.outcomes if isinstance(o, Listen | Liked) and o.track
        ]
        known = await connectors.ensure(tracks)
        by_id = await self._recordings(chunk)
        result = ChunkResult(Counter(), [], [], [])
        counts = result.counts
        counts["records_read"] = len(chunk.outcomes)
        if chunk.end_of_entry:
            counts["bytes_read"] = chunk.entry.size
        job, name = self.job, chunk.entry.name
        for outcome in chunk.outcomes:
            if isinstance(outcome, Listen):
                found = known[outcome.track.key]
                if found.track_id is None:
                    counts["unmatched"] += 1
                    result.rejections.append(
                        (name, outcome.position, f"unmatched: {found.refused}")
                    )
                    continue
                result.plays.append(
                    (
                        uuid7(),  # 10x cheaper than a uuid.UUID, and asyncpg takes it
                        job.user_id,
                        found.track_id,
                        outcome.listened_at,
                        outcome.ms_played,
                        source,
                        job.id,
                        outcome.client,
                        found.id,
                    )
                )
            elif isinstance(outcome, Liked):
                target = known.get(outcome.track.key) if outcome.track else None
                target = target or by_id.get(outcome.recording_mbid or outcome.recording_msid or "")
                if target is None or target.track_id is None:
                    counts["unmatched"] += 1
                    reason = target.refused if target else "no listen of this recording is known"
                    result.rejections.append((name, outcome.position, f"unmatched: {reason}"))
                    continue
                result.likes.append(
                    LikeRow(target.track_id, source, outcome.score, outcome.liked_at, target.id)
                )
            elif isinstance(outcome, Skipped):
                counts[SKIP_COUNTERS[outcome.reason]] += 1
            elif isinstance(outcome, Rejected):
                counts["rejected"] += 1
                result.rejections.append((name, outcome.position, outcome.reason))
        return result

    async def _recordings(self, chunk: Chunk) -> dict[str, Known]:
        """Connector tracks feedback names by recording MBID or MessyBrainz id only."""
        wanted = {
            value
            for o in chunk.outcomes
            if isinstance(o, Liked) and o.track is None
            for value in (o.recording_mbid, o.recording_msid)
            if value
        }
        if not wanted:
            return {}
        async with transaction(self.sessions) as session:
            conn = await driver_connection(session)
            rows = await conn.fetch(
                "SELECT DISTINCT ON (k) k, id, track_id, refused FROM ("
                "  SELECT recording_mbid AS k, id, track_id, refused FROM connector_tracks"
                "  WHERE recording_mbid = ANY($1::text[]) AND track_id IS NOT NULL"
                "  UNION ALL"
                "  SELECT recording_msid, id, track_id, refused FROM connector_tracks"
                "  WHERE recording_msid = ANY($1::text[]) AND track_id IS NOT NULL) c "
                "ORDER BY k, id",
                list(wanted),
            )
        return {r["k"]: Known(r["id"], r["track_id"], r["refused"]) for r in rows}

    async def _store(self, chunk: Chunk, result: ChunkResult) -> bool:
        """One transaction: the chunk's plays, likes, rejections, counters and checkpoint;
        False (and the job cancelled, nothing of the chunk stored) when a cancel came."""
        job = self.job
        async with transaction(self.sessions) as session:
            conn = await driver_connection(session)
            await lock_user(conn, job.user_id)  # before the job's row: erasure's order
            row = await self._own(conn)
            if row["cancel_requested_at"] is not None:
                await self._cancelled(conn)
                return False
            stored, latest = await store_and_record_plays(
                conn,
                job.user_id,
                result.plays,
                duplicate_window_s=self.settings.duplicate_window_s,
            )
            changes = await store_likes(conn, job.user_id, result.likes)
            counts = result.counts
            counts["listens_imported"] = stored
            counts["duplicates_skipped"] = len(result.plays) - stored
            counts["likes_imported"] = len(changes)
            await self._list_rejections(conn, row["rejected"] + row["unmatched"], result.rejections)
            await conn.execute(
                "UPDATE import_jobs SET "
                + ", ".join(f"{name} = {name} + ${i + 2}" for i, name in enumerate(COUNTERS))
                + f", checkpoint = ${len(COUNTERS) + 2}::jsonb, updated_at = now() WHERE id = $1",
                job.id,
                *[counts[name] for name in COUNTERS],
                json.dumps(chunk.next_position),
            )
            if latest is not None:
                await _advance_sync(conn, job.user_id, chunk.kind.source, "listens", latest)
            if changes:
                events.likes_changed(session, job.user_id, changes)
        count_listens_imported(chunk.kind.source, stored)  # committed: throughput metric
        self._stored_any = self._stored_any or stored > 0
        return True

    async def _list_rejections(
        self, conn: asyncpg.Connection[Any], seq: int, rejections: list[tuple[str, str, str]]
    ) -> None:
        kept = [
            (self.job.id, seq + i, entry, position, reason[:1000])
            for i, (entry, position, reason) in enumerate(rejections)
            if seq + i < self.settings.rejections_kept
        ]
        if kept:
            await conn.copy_records_to_table(
                "import_rejections",
                records=kept,
                columns=("job_id", "seq", "entry", "position", "reason"),
            )

    # -- the job's row --------------------------------------------------------------------

    async def _own(self, conn: asyncpg.Connection[Any]) -> asyncpg.Record:
        """The job's row, locked, while it is still this worker's; LeaseLost otherwise."""
        row = await conn.fetchrow(
            "SELECT status, worker, cancel_requested_at, rejected, unmatched "
            "FROM import_jobs WHERE id = $1 FOR UPDATE",
            self.job.id,
        )
        if row is None or row["worker"] != self.lease.token or row["status"] != "running":
            raise LeaseLost(f"import {self.job.id} is no longer this worker's")
        return row

    async def _started(self) -> None:
        async with transaction(self.sessions) as session:
            events.import_started(
                session, self.job.id, self.job.user_id, self.job.filename, self.job.attempts
            )

    async def _detected(self, formats: list[str]) -> None:
        async with transaction(self.sessions) as session:
            conn = await driver_connection(session)
            await conn.execute(
                "UPDATE import_jobs SET detected_format = $2 WHERE id = $1",
                self.job.id,
                ",".join(formats) or None,
            )

    async def _cancelled(self, conn: asyncpg.Connection[Any]) -> None:
        await conn.execute(
            "UPDATE import_jobs SET status = 'cancelled', finished_at = now(), updated_at = now() "
            "WHERE id = $1",
            self.job.id,
        )

    async def _finish(
        self, status: str, error: str | None = None, position: str | None = None
    ) -> str:
        async with transaction(self.sessions) as session:
            conn = await driver_connection(session)
            await self._own(conn)
            row = await conn.fetchrow(
                "UPDATE import_jobs SET status = $2, error = $3, error_position = $4, "
                "finished_at = now(), updated_at = now() WHERE id = $1 RETURNING *",
                self.job.id,
                status,
                error,
                position,
            )
            assert row is not None
            events.import_finished(session, dict(row.items()))
        log.info("import %s %s%s", self.job.id, status, f": {error}" if error else "")
        return status

    async def _requeue(self, reason: str) -> str:
        async with transaction(self.sessions) as session:
            conn = await driver_connection(session)
            await self._own(conn)
            await conn.execute(
                "UPDATE import_jobs SET status = 'queued', worker = NULL, error = $2, "
                "updated_at = now() WHERE id = $1",
                self.job.id,
                reason,
            )
        return "queued"


async def _advance_sync(
    conn: asyncpg.Connection[Any],
    user_id: uuid.UUID,
    source: str,
    entity_type: str,
    position_at: Any,
) -> None:
    """The user's checkpoint for this source moves forward, never back."""
    await conn.execute(
        "INSERT INTO sync_checkpoints AS s (user_id, source, entity_type, position_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, source, entity_type) DO UPDATE "
        "SET position_at = greatest(s.position_at, excluded.position_at), updated_at = now()",
        user_id,
        source,
        entity_type,
        position_at,
    )
