"""External ids (ISRC, MusicBrainz, Spotify, Discogs, Last.fm, local): one entity per
(entity type, namespace, value).

Shared by resolution (the ids new tracks carry and those confident matches teach the
catalog, attached in bulk: an id already taken stays where it is) and hand edits
(attaching one that another entity holds is a 409 naming the holder).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog.models import NAMESPACES
from medley_catalog.normalize import normalize_external_id
from medley_catalog.queries import EntityType, as_uuid
from medley_catalog.writes import require_live, touch
from medley_core.db import driver_connection
from medley_core.errors import Conflict, NotFound, Unprocessable

# (namespace, canonical value, entity id)
IdValue = tuple[str, str, uuid.UUID]


@dataclass(frozen=True)
class ExternalIdSpec:
    namespace: str
    value: str


def canonical(spec: ExternalIdSpec) -> tuple[str, str]:
    """``(namespace, value)`` in canonical form; 422 for an unknown namespace or a value
    malformed for it."""
    if spec.namespace not in NAMESPACES:
        raise Unprocessable(
            f"unknown external id namespace {spec.namespace!r}; one of {', '.join(NAMESPACES)}",
            field="namespace",
        )
    try:
        return spec.namespace, normalize_external_id(spec.namespace, spec.value)
    except ValueError as exc:
        raise Unprocessable(str(exc), field=spec.namespace) from None


async def insert_missing(
    conn: asyncpg.Connection[Any], entity_type: EntityType, values: Sequence[IdValue]
) -> list[uuid.UUID]:
    """Attach ids in one statement; those already taken stay where they are. Returns the
    entity of each id attached (once per id)."""
    if not values:
        return []
    records = await conn.fetch(
        """
        INSERT INTO external_ids (entity_type, namespace, value, entity_id)
        SELECT $1, v.namespace, v.value, v.entity_id
        FROM unnest($2::text[], $3::text[], $4::uuid[]) AS v(namespace, value, entity_id)
        ORDER BY v.namespace, v.value
        ON CONFLICT DO NOTHING
        RETURNING entity_id
        """,
        entity_type,
        [v[0] for v in values],
        [v[1] for v in values],
        [v[2] for v in values],
    )
    return [as_uuid(r["entity_id"]) for r in records]


async def attach(
    conn: asyncpg.Connection[Any],
    entity_type: EntityType,
    entity_id: uuid.UUID,
    specs: Sequence[ExternalIdSpec],
) -> int:
    """Attach ids to one entity; 409 when one belongs to another. Returns how many were new."""
    values = list(dict.fromkeys(canonical(s) for s in specs))
    if not values:
        return 0
    taken = await conn.fetchrow(
        """
        SELECT e.namespace, e.value, e.entity_id FROM external_ids e
        JOIN unnest($2::text[], $3::text[]) AS v(namespace, value)
            ON e.namespace = v.namespace AND e.value = v.value
        WHERE e.entity_type = $1 AND e.entity_id <> $4
        LIMIT 1
        """,
        entity_type,
        [v[0] for v in values],
        [v[1] for v in values],
        entity_id,
    )
    if taken is not None:
        raise Conflict(
            f"{taken['namespace']} {taken['value']} already identifies {entity_type} "
            f"{taken['entity_id']}",
            namespace=taken["namespace"],
            value=taken["value"],
            holder=str(taken["entity_id"]),
        )
    added = await insert_missing(conn, entity_type, [(ns, v, entity_id) for ns, v in values])
    return len(added)


# --- capabilities ----------------------------------------------------------------------------


async def attach_external_id(
    session: AsyncSession, entity_type: EntityType, entity_id: uuid.UUID, spec: ExternalIdSpec
) -> uuid.UUID:
    """Attach one id to a live entity (merges followed); returns the entity's id."""
    conn = await driver_connection(session)
    entity_id = await require_live(conn, entity_type, entity_id)
    if await attach(conn, entity_type, entity_id, [spec]):
        await touch(session, entity_type, entity_id)
    return entity_id


async def detach_external_id(
    session: AsyncSession, entity_type: EntityType, entity_id: uuid.UUID, namespace: str, value: str
) -> None:
    """Detach an id the entity carries; 404 when it does not."""
    conn = await driver_connection(session)
    entity_id = await require_live(conn, entity_type, entity_id)
    namespace, value = canonical(ExternalIdSpec(namespace, value))
    removed = await conn.fetchval(
        "DELETE FROM external_ids WHERE entity_type = $1 AND namespace = $2 AND value = $3 "
        "AND entity_id = $4 RETURNING value",
        entity_type,
        namespace,
        value,
        entity_id,
    )
    if removed is None:
        raise NotFound(f"{entity_type} {entity_id} has no {namespace} {value}")
    await touch(session, entity_type, entity_id)
