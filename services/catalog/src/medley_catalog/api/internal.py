"""The internal endpoint (a service token with ``catalog:resolve``): batch entity resolution."""

from __future__ import annotations

from collections import Counter

import msgspec
from litestar import post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from medley_catalog import resolution
from medley_catalog.api.answers import Resolutions, Resolved
from medley_catalog.api.deps import Session, Settings
from medley_catalog.api.schemas import ResolveIn
from medley_core.auth import require_service
from medley_core.errors import ContentTooLarge, Unprocessable
from medley_core.registry import CATALOG_RESOLVE


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
        results = await resolution.resolve(
            db_session,
            [c.candidate() for c in data.candidates],
            source=data.source,
            config=config,
        )
    except resolution.CandidateError as exc:
        raise Unprocessable(exc.message, field=f"candidates.{exc.index}", index=exc.index) from None
    return Resolutions(
        results=[msgspec.convert(r, Resolved, from_attributes=True) for r in results],
        methods=dict(Counter(r.method for r in results)),
    )
