"""The internal endpoints: batch entity resolution (a service token with ``catalog:resolve``)
and the export projections backfill from (``catalog:export``)."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import msgspec
from litestar import get, post
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from medley_catalog import export, resolution
from medley_catalog.api.answers import ExportedTrack, ExportPage, Resolutions, Resolved
from medley_catalog.api.deps import Session, Settings
from medley_catalog.api.schemas import ResolveIn
from medley_core.auth import require_service
from medley_core.errors import ContentTooLarge, Unprocessable
from medley_core.params import parse_id
from medley_core.registry import CATALOG_EXPORT, CATALOG_RESOLVE


@post(
    "/internal/resolve",
    guards=[require_service(CATALOG_RESOLVE)],
    tags=["internal"],
    status_code=HTTP_200_OK,
    summary="Resolve up to 1,000 candidates to catalog tracks, creating what is missing",
)
async def resolve(
    data: JSONBody[ResolveIn], db_session: Session, catalog_settings: Settings
) -> Resolutions:
    limit = catalog_settings.resolve_max_candidates
    if len(data.candidates) > limit:
        raise ContentTooLarge(
            f"at most {limit} candidates per call (got {len(data.candidates)})", limit=limit
        )
    config = resolution.ResolutionConfig(
        fuzzy_min_confidence=catalog_settings.fuzzy_min_confidence,
        duration_grace_ms=catalog_settings.duration_grace_ms,
        duration_max_ms=catalog_settings.duration_max_ms,
        variant_tolerance_ms=catalog_settings.variant_duration_tolerance_ms,
    )
    try:
        candidates = [c.candidate() for c in data.candidates]
        results: list[resolution.Resolution | None]
        if data.create:
            results = list(
                await resolution.resolve(db_session, candidates, source=data.source, config=config)
            )
        else:
            results = await resolution.resolve_known(db_session, candidates, config=config)
    except resolution.CandidateError as exc:
        raise Unprocessable(exc.message, field=f"candidates.{exc.index}", index=exc.index) from None
    return Resolutions(
        results=[msgspec.convert(r, Resolved, from_attributes=True) for r in results if r],
        methods=dict(Counter(r.method if r else "unmatched" for r in results)),
    )


@get(
    "/internal/tracks",
    guards=[require_service(CATALOG_EXPORT)],
    tags=["internal"],
    summary="Every track (deleted and merged ones too) as a projection holds it, by id",
)
async def export_tracks(
    db_session: Session,
    after: Annotated[
        str | None, QueryParameter(description="the previous page's `next_cursor`")
    ] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=5000)] = 1000,
) -> ExportPage:
    cursor = parse_id(after, "after") if after is not None else None
    rows, next_cursor = await export.tracks_after(db_session, cursor, limit)
    return ExportPage(
        items=[msgspec.convert(r, ExportedTrack) for r in rows],
        next_cursor=str(next_cursor) if next_cursor is not None else None,
    )
