"""Finding the catalog track each imported entry means, set-based, and saying how.

In order, an entry leaves at the first step that answers:

1. ``id``: it names a Medley track (``medley:track:<id>``, a Medley JSON export) the
   projection knows (a merged one: its survivor);
2. ``local``: the projection holds a live track with the same title and artist (case and
   Unicode form folded; the closest duration when several do) — one query for all entries;
3. the catalog's batch resolution, for what is left (one call per 1,000 entries): its
   method (``external_id``, ``exact``, ``fuzzy``, ``created``) and confidence;
4. otherwise unmatched, with the reason (no title and artist to look for, the catalog's
   refusal, no resolver configured).

Tracks the catalog resolved that the projection has not heard of yet get placeholders
(their catalog event brings the real row).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from medley_playlists import projection
from medley_playlists.text import fold
from medley_playlists.transfer.entries import Entry


@dataclass(frozen=True)
class Resolved:
    track_id: uuid.UUID
    method: str
    confidence: int


@dataclass(frozen=True)
class Refused:
    reason: str


class Resolver(Protocol):
    """The catalog's batch resolution: one answer per candidate, in order."""

    async def resolve(
        self, candidates: Sequence[dict[str, Any]], source: str
    ) -> list[Resolved | Refused]: ...


@dataclass(frozen=True)
class Match:
    entry: Entry
    track_id: uuid.UUID | None = None
    method: str | None = None
    confidence: int | None = None
    reason: str | None = None

    def report(self) -> dict[str, Any]:
        status = "skipped" if self.entry.skipped else "matched" if self.track_id else "unmatched"
        return {
            "index": self.entry.index,
            "at": self.entry.where,
            "title": self.entry.title,
            "artist": self.entry.artist,
            "status": status,
            "method": self.method,
            "confidence": self.confidence,
            "track_id": self.track_id,
            "reason": self.entry.skipped or self.reason,
        }


async def _by_id(conn: asyncpg.Connection[Any], entries: Sequence[Entry]) -> dict[int, Match]:
    wanted = [e for e in entries if e.track_id is not None]
    if not wanted:
        return {}
    records = await conn.fetch(
        """
        SELECT given.n, coalesce(s.id, t.id) AS track_id
        FROM unnest($1::uuid[], $2::int[]) AS given(id, n)
        JOIN tracks t ON t.id = given.id
        LEFT JOIN tracks s ON s.id = t.merged_into
        WHERE coalesce(s.status, t.status) IN ('active', 'pending')
        """,
        [e.track_id for e in wanted],
        [e.index for e in wanted],
    )
    by_index = {e.index: e for e in wanted}
    return {r["n"]: Match(by_index[r["n"]], r["track_id"], "id", 100) for r in records}


async def _locally(conn: asyncpg.Connection[Any], entries: Sequence[Entry]) -> dict[int, Match]:
    wanted = [e for e in entries if e.title and e.artist]
    if not wanted:
        return {}
    records = await conn.fetch(
        """
        SELECT DISTINCT ON (given.n) given.n, t.id
        FROM unnest($1::int[], $2::text[], $3::text[], $4::int[])
            AS given(n, artist_key, title_key, duration_ms)
        JOIN tracks t ON t.artist_key = given.artist_key AND t.title_key = given.title_key
            AND t.status IN ('active', 'pending')
        ORDER BY given.n, abs(t.duration_ms - given.duration_ms) NULLS LAST, t.id
        """,
        [e.index for e in wanted],
        [fold(e.artist or "") for e in wanted],
        [fold(e.title or "") for e in wanted],
        [e.duration_ms for e in wanted],
    )
    by_index = {e.index: e for e in wanted}
    return {r["n"]: Match(by_index[r["n"]], r["id"], "local", 100) for r in records}


def candidate(entry: Entry) -> dict[str, Any]:
    """What the catalog's resolution takes for an entry."""
    body: dict[str, Any] = {"title": entry.title, "artist": entry.artist}
    for key, value in (
        ("album", entry.album),
        ("duration_ms", entry.duration_ms),
        ("spotify_id", entry.spotify_id),
        ("isrc", entry.isrc),
    ):
        if value:
            body[key] = value
    return body


async def _through_catalog(
    conn: asyncpg.Connection[Any],
    entries: Sequence[Entry],
    resolver: Resolver | None,
    source: str,
) -> dict[int, Match]:
    if not entries:
        return {}
    if resolver is None:
        return {e.index: Match(e, reason="not in the catalog the service knows") for e in entries}
    answers = await resolver.resolve([candidate(e) for e in entries], source)
    found: dict[int, Match] = {}
    places: list[tuple[uuid.UUID, str, str, int | None]] = []
    for entry, answer in zip(entries, answers, strict=True):
        if isinstance(answer, Refused):
            found[entry.index] = Match(entry, reason=answer.reason)
            continue
        found[entry.index] = Match(entry, answer.track_id, answer.method, answer.confidence)
        places.append((answer.track_id, entry.title or "", entry.artist or "", entry.duration_ms))
    await projection.hold_places(conn, places)
    return found


async def match(
    conn: asyncpg.Connection[Any],
    entries: Sequence[Entry],
    resolver: Resolver | None,
    *,
    source: str = "import",
) -> list[Match]:
    """One match per entry, in order."""
    tracks = [e for e in entries if not e.skipped]
    found = await _by_id(conn, tracks)
    found.update(await _locally(conn, [e for e in tracks if e.index not in found]))
    rest = [e for e in tracks if e.index not in found]
    askable = [e for e in rest if e.title and e.artist]
    found.update(await _through_catalog(conn, askable, resolver, source))
    for entry in rest:
        if entry.index not in found:
            found[entry.index] = Match(entry, reason="no title and artist to look for")
    return [found.get(e.index) or Match(e) for e in entries]
