"""ListenBrainz's rate limit: N requests per window per key (a user, or an address without
one), shared by every ingestion replica.

The counting is :class:`medley_core.ratelimit.SharedLimiter`'s (NATS KV, the same mechanism
as the gateway's limits), so the limit per user is N whichever replica a request reaches.
ListenBrainz tells clients how much is left with ``X-RateLimit-Limit``, ``-Remaining``,
``-Reset`` (when the window ends, Unix seconds) and ``-Reset-In`` (seconds until then), and
answers 429 past it; clients sleep for ``Reset-In``.
"""

from __future__ import annotations

import math

from nats.aio.client import Client as NATS

from medley_core.ratelimit import Decision, NatsCounters, SharedLimiter
from medley_ingestion.settings import IngestionSettings

LIMITER_NAME = "listenbrainz"


def listenbrainz_limiter(settings: IngestionSettings, nc: NATS) -> SharedLimiter:
    return SharedLimiter(
        f"{settings.event_prefix}.{LIMITER_NAME}",
        limit=settings.listenbrainz_rate_limit,
        window_s=settings.listenbrainz_rate_window_s,
        counters=NatsCounters(nc),
    )


def listenbrainz_headers(decision: Decision) -> dict[str, str]:
    """The ``X-RateLimit-*`` fields ListenBrainz clients read."""
    return {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(math.ceil(decision.reset_at)),
        "X-RateLimit-Reset-In": str(max(0, math.ceil(decision.reset_in))),
    }
