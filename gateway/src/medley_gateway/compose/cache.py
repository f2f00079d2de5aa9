"""The catalog parts of composed reads, kept briefly in each gateway process.

Catalog data (titles, albums, credits) is the same for every caller and changes rarely, so a
composed read takes it from here when it can. What keeps a hit from serving what a change
(an edit, a merge, a delete) made stale:

* every ``catalog.*`` event empties the cache (:class:`CatalogFeed`: the catalog stream
  followed with the same per-process ordered consumer that follows revocations,
  :class:`medley_core.events.follow.StreamFollower`). A change can touch many cached
  entries (a merge moves tracks, renames credits): emptying everything is what is surely
  right, and cheap: the cache refills in one batch call per read;
* a catalog write passing through this gateway (``/api/v1/admin/catalog/…``) empties it
  before its answer leaves (:class:`CatalogWriteInvalidation`), so "merge, then read at
  once" never sees the old data here, even before the event arrives;
* while the feed is not following the stream (NATS down, reconnecting) nothing is served
  from the cache nor kept in it: an event missed then could not empty it;
* entries live ``ttl_s`` (a few seconds) at most, and a read that started before the cache
  was emptied does not put what it fetched (``generation``).

A catalog change made elsewhere (directly on the catalog, or through another gateway
replica) is seen here when its event arrives: the outbox relay's latency, milliseconds.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from nats.aio.client import Client as NATS

from medley_contracts.envelope import EventEnvelope
from medley_core.events.follow import StreamFollower

log = logging.getLogger("medley.gateway.cache")

CACHE_STATE_KEY = "catalog_cache"
#: Writes passing through here that change the catalog.
CATALOG_WRITES_PREFIX = "/api/v1/admin/catalog"


class CatalogCache:
    """A bounded, time-limited map of catalog answers, emptied on every catalog change."""

    def __init__(
        self, *, ttl_s: float, max_entries: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        #: Counts the times the cache was emptied: a fetch started before puts nothing.
        self.generation = 0
        #: Whether catalog changes are being followed; only then is anything kept.
        self.live = False
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def enabled(self) -> bool:
        return self.live and self.ttl_s > 0

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()

    def set_live(self, live: bool) -> None:
        # Events may have been missed while not live, whichever way it changes.
        self.live = live
        self.clear()

    def get(self, key: Hashable) -> tuple[bool, Any]:
        if not self.enabled:
            return False, None
        entry = self._entries.get(key)
        if entry is None or entry[0] < self._clock():
            self.misses += 1
            return False, None
        self.hits += 1
        return True, entry[1]

    def put(self, key: Hashable, value: Any, generation: int) -> None:
        """Keep ``value`` unless the cache was emptied since its fetch began."""
        if not self.enabled or generation != self.generation:
            return
        self._entries[key] = (self._clock() + self.ttl_s, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def get_many(
        self, upstream: str, path: str, ids: Iterable[str]
    ) -> tuple[dict[str, Any], list[str]]:
        """The entities of a batch lookup found here, and the ids still to ask for."""
        found: dict[str, Any] = {}
        missing: list[str] = []
        for ident in ids:
            hit, value = self.get((upstream, path, ident))
            if hit:
                found[ident] = value
            else:
                missing.append(ident)
        return found, missing

    def put_many(self, upstream: str, path: str, items: Mapping[str, Any], generation: int) -> None:
        for ident, value in items.items():
            self.put((upstream, path, ident), value, generation)


class CatalogFeed(StreamFollower):
    """Empties the :class:`CatalogCache` on every ``catalog.*`` event (from now on: what
    happened before the process started is not in its cache)."""

    name = "catalog-cache-feed"

    def __init__(self, nc: NATS, cache: CatalogCache, *, event_prefix: str) -> None:
        super().__init__(nc, pattern="catalog.>", event_prefix=event_prefix, lookback_s=0.0)
        self.cache = cache

    def apply(self, envelope: EventEnvelope) -> None:
        self.cache.clear()
        self.applied += 1

    def on_live(self) -> None:
        self.cache.set_live(True)

    def on_paused(self) -> None:
        self.cache.set_live(False)


class CatalogWriteInvalidation:
    """ASGI middleware: a catalog write through this gateway empties the cache before its
    answer starts, so the writer's next read is fresh."""

    def __init__(self, app: ASGIApp, cache: CatalogCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != ScopeType.HTTP
            or scope.get("method") == "GET"
            or not scope.get("path", "").startswith(CATALOG_WRITES_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        cache = self.cache

        async def send_after_invalidating(message: Message) -> None:
            # Whatever the status: a write that failed half-way may have changed something.
            if message["type"] == "http.response.start":
                cache.clear()
            await send(message)

        await self.app(scope, receive, send_after_invalidating)
