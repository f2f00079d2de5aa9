"""The whole resolution of a batch: prepare, stage, the matching stages in order, create
what is left, learn the ids confident matches carried, collect the events."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog import events, external_ids
from medley_catalog.db import take_write_lock, try_write_lock
from medley_catalog.resolution import stages
from medley_catalog.resolution.create import create
from medley_catalog.resolution.prepare import Candidate, Prepared, prepare
from medley_catalog.resolution.scoring import ResolutionConfig
from medley_core.db import driver_connection
from medley_core.events.unit_of_work import PendingEvent, collect_many

Method = Literal["external_id", "exact", "fuzzy", "created"]


@dataclass(frozen=True)
class Resolution:
    index: int
    track_id: uuid.UUID
    album_id: uuid.UUID | None
    created: bool
    method: Method
    confidence: int


@dataclass
class _Run:
    """One batch on its way: the staged candidates and what the stages answered so far."""

    conn: asyncpg.Connection[Any]
    prepared: list[Prepared]
    config: ResolutionConfig
    results: dict[int, Resolution] = field(default_factory=dict)
    events: list[PendingEvent] = field(default_factory=list)

    def unresolved(self) -> list[Prepared]:
        return [p for p in self.prepared if p.index not in self.results]

    async def answer(
        self, method: Method, matches: Iterable[stages.Match], *, created: bool = False
    ) -> None:
        """Record the answers of a stage; their candidates leave the staging table."""
        answered = []
        for index, track_id, album_id, confidence in matches:
            self.results[index] = Resolution(index, track_id, album_id, created, method, confidence)
            answered.append(index)
        await stages.drop_resolved(self.conn, answered)

    async def look(self) -> None:
        """Stages 1 and 2: external ids, then exact keys."""
        await self.answer("external_id", await stages.match_external(self.conn))
        await self.answer("exact", await stages.match_exact(self.conn, self.config))

    async def fuzzy(self) -> None:
        """Stage 3."""
        by_index = {p.index: p for p in self.unresolved()}
        found = await stages.match_fuzzy(self.conn, by_index, self.config)
        await self.answer("fuzzy", ((i, t, a, c) for i, (t, a, c) in found.items()))

    async def create(self, source: str | None) -> None:
        """Stage 4. Originals first, then variants: "X - 2011 Remaster" may then resolve
        to the "X" this very batch created (when the durations agree)."""
        for variants in (False, True):
            remaining = [p for p in self.unresolved() if bool(p.title_variant) == variants]
            if not remaining:
                continue
            created = await create(self.conn, remaining, source)
            new = ((i, t, a, 100) for i, (t, a) in created.tracks.items())
            await self.answer("created", new, created=True)
            self.events.extend(created.events)
            if not variants and any(p.title_variant for p in self.unresolved()):
                await self.look()

    def learned(self) -> list[external_ids.IdValue]:
        """The ids that candidates matched by id or exactly carried: confident matches
        teach the catalog."""
        return [
            (ns, v, self.results[p.index].track_id)
            for p in self.prepared
            if p.index in self.results and self.results[p.index].method in ("external_id", "exact")
            for ns, v in p.external_keys
        ]


async def _resolve(
    session: AsyncSession,
    candidates: Sequence[Candidate],
    source: str | None,
    config: ResolutionConfig | None,
    create: bool,
) -> list[Resolution | None]:
    prepared = [prepare(i, c) for i, c in enumerate(candidates)]
    if not prepared:
        return []
    conn = await driver_connection(session)
    run = _Run(conn, prepared, config or ResolutionConfig())
    # Before the first look: holding the lock, nothing can be created behind our back.
    locked = await try_write_lock(conn)
    await stages.stage(conn, prepared)
    await run.look()
    await run.fuzzy()
    if run.unresolved() and create:
        if not locked:
            # Create under the write lock, after looking again: the resolver that held it
            # may have created some of these tracks since the first look.
            await take_write_lock(conn)
            await run.look()
        await run.create(source)
    enriched = await external_ids.insert_missing(conn, "track", run.learned())
    collect_many(session, run.events)
    if enriched:
        await events.collect_changed(session, "track", sorted(set(enriched)))
    return [run.results.get(p.index) for p in prepared]


async def resolve(
    session: AsyncSession,
    candidates: Sequence[Candidate],
    *,
    source: str | None = None,
    config: ResolutionConfig | None = None,
) -> list[Resolution]:
    """Resolve ``candidates`` to catalog tracks, creating what is missing, in the session's
    transaction (commit it to keep what was created). Results are in candidate order."""
    results = await _resolve(session, candidates, source, config, create=True)
    return [r for r in results if r is not None]


async def resolve_known(
    session: AsyncSession,
    candidates: Sequence[Candidate],
    *,
    config: ResolutionConfig | None = None,
) -> list[Resolution | None]:
    """Stages 1 to 3 only: the catalog track each candidate is, None where the catalog does
    not know it (nothing is created). In candidate order."""
    return await _resolve(session, candidates, None, config, create=False)
