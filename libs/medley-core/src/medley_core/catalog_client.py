"""The catalog's internal endpoints, called with a service token: one client for every
service that needs them (ingestion resolves connector tracks, playlists resolves imported
entries and backfills its projection).

* ``POST /internal/resolve`` (``catalog:resolve``): candidates go in batches of at most
  ``batch_size`` (1,000), never one call per entry. With ``create`` (ingestion) the catalog
  creates what it does not know; without (a playlist import) that comes back
  :class:`Refused` ("not in the catalog"). The catalog refuses a whole batch when
  one candidate is unusable (422 naming ``candidates.<i>``): that candidate is set aside as
  refused, with the catalog's reason, and the rest is sent again. What the catalog cannot
  take is never dropped silently: it comes back :class:`Refused`.
* ``GET /internal/tracks`` (``catalog:export``): every track as a projection holds it, a
  keyset page at a time.

Framework-free apart from httpx (through :class:`medley_core.http.UpstreamClient`).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field, SecretStr

from medley_core.errors import ServiceUnavailable
from medley_core.http import UpstreamClient
from medley_core.registry import CATALOG
from medley_core.service_tokens import AuthorizationSource
from medley_core.settings import ServiceSettings

log = logging.getLogger("medley.catalog_client")

RESOLVE_PATH = "/internal/resolve"
EXPORT_PATH = "/internal/tracks"
NOT_IN_CATALOG = "not in the catalog"
MAX_TEXT = 1000
MAX_DURATION_MS = 2_147_483_647
# The most candidates the catalog's POST /internal/resolve takes in one call.
MAX_CANDIDATES_PER_CALL = 1_000
_CANDIDATE_FIELD = re.compile(r"candidates\.(\d+)")


@dataclass(frozen=True)
class Resolved:
    track_id: uuid.UUID
    album_id: uuid.UUID | None
    method: str
    confidence: int
    created: bool


@dataclass(frozen=True)
class Refused:
    reason: str


Resolution = Resolved | Refused


@dataclass(frozen=True)
class ExportPage:
    """One page of ``GET /internal/tracks``: the tracks (as the catalog answers them) and
    the cursor of the next page (None after the last)."""

    tracks: list[dict[str, Any]]
    next_cursor: str | None


class CatalogError(ServiceUnavailable):
    """The catalog answered something the caller cannot use (try again later)."""

    slug = "catalog-unavailable"


def _storable(value: str | None) -> bool:
    if value is None:
        return True
    if "\x00" in value or len(value) > MAX_TEXT:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def candidate(
    title: str | None,
    artist: str | None,
    *,
    album: str | None = None,
    album_artist: str | None = None,
    duration_ms: int | None = None,
    isrc: str | None = None,
    mbid: str | None = None,
    spotify_id: str | None = None,
) -> dict[str, Any] | str:
    """The catalog candidate for a track as a source names it, or why the catalog would
    refuse it (what :meth:`CatalogClient.resolve` takes)."""
    for label, value in (
        ("title", title),
        ("artist", artist),
        ("album", album),
        ("album artist", album_artist),
    ):
        if not _storable(value):
            return f"the {label} is longer than {MAX_TEXT} characters or holds NUL"
    body: dict[str, Any] = {"title": title, "artist": artist}
    if album:
        body["album"] = album
        if album_artist:
            body["album_artist"] = album_artist
    if duration_ms and 0 < duration_ms <= MAX_DURATION_MS:
        body["duration_ms"] = duration_ms
    for field, value in (("isrc", isrc), ("mbid", mbid), ("spotify_id", spotify_id)):
        if value:
            body[field] = value
    return body


def _refused_index(problem: dict[str, Any], size: int) -> int | None:
    """Which candidate a 422 names (``index``, or ``candidates.<i>…`` in a field)."""
    index = problem.get("index")
    if isinstance(index, int) and 0 <= index < size:
        return index
    fields = [problem.get("field")] + [e.get("field") for e in problem.get("errors") or []]
    for field in fields:
        found = _CANDIDATE_FIELD.search(str(field or ""))
        if found and int(found.group(1)) < size:
            return int(found.group(1))
    return None


def _reason(problem: dict[str, Any]) -> str:
    errors = problem.get("errors") or []
    if errors:
        return "; ".join(str(e.get("message")) for e in errors)[:500]
    return str(problem.get("detail") or "refused by the catalog")[:500]


class CatalogClient:
    """The catalog's internal endpoints; one client per process."""

    def __init__(
        self,
        base_url: str,
        authorization: AuthorizationSource,
        *,
        batch_size: int = MAX_CANDIDATES_PER_CALL,
        timeout_s: float = 120.0,
    ) -> None:
        self.upstream = UpstreamClient("catalog", base_url, retries=2)
        self.authorization = authorization
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        self.calls = 0  # resolve calls made (tests read it)

    async def aclose(self) -> None:
        await self.upstream.aclose()

    async def resolve(
        self, candidates: Sequence[Mapping[str, Any] | str], source: str, *, create: bool = True
    ) -> list[Resolution]:
        """One resolution per candidate, in order. A candidate given as a string is one
        already known to be refused (:func:`candidate`'s reason): it is not sent."""
        results: list[Resolution | None] = [None] * len(candidates)
        pending: list[tuple[int, Mapping[str, Any]]] = []
        for index, body in enumerate(candidates):
            if isinstance(body, str):
                results[index] = Refused(body)
            else:
                pending.append((index, body))
        for start in range(0, len(pending), self.batch_size):
            batch = pending[start : start + self.batch_size]
            for index, outcome in await self._resolve_batch(batch, source, create):
                results[index] = outcome
        return [r if r is not None else Refused(NOT_IN_CATALOG) for r in results]

    async def _resolve_batch(
        self, batch: list[tuple[int, Mapping[str, Any]]], source: str, create: bool
    ) -> list[tuple[int, Resolution]]:
        outcomes: list[tuple[int, Resolution]] = []
        retried_auth = False
        body: dict[str, Any] = {"source": source} if create else {"source": source, "create": False}
        while batch:
            response = await self.upstream.post(
                RESOLVE_PATH,
                json={"candidates": [dict(c) for _, c in batch], **body},
                authorization=await self.authorization.authorization(),
                timeout=self.timeout_s,
            )
            self.calls += 1
            if response.status_code == 401 and not retried_auth:
                self.authorization.invalidate()
                retried_auth = True
                continue
            if response.status_code == 422:
                problem = response.json()
                refused = _refused_index(problem, len(batch))
                if refused is None:
                    raise CatalogError(f"the catalog refused a batch: {_reason(problem)}")
                outcomes.append((batch[refused][0], Refused(_reason(problem))))
                batch = batch[:refused] + batch[refused + 1 :]
                continue
            if response.status_code != 200:
                raise CatalogError(
                    f"the catalog answered {response.status_code} to a resolution batch"
                )
            for item in response.json()["results"]:
                index = batch[item["index"]][0]
                outcomes.append(
                    (
                        index,
                        Resolved(
                            track_id=uuid.UUID(item["track_id"]),
                            album_id=uuid.UUID(item["album_id"]) if item.get("album_id") else None,
                            method=str(item["method"]),
                            confidence=int(item["confidence"]),
                            created=bool(item.get("created")),
                        ),
                    )
                )
            return outcomes
        return outcomes

    async def export_tracks(self, after: str | None = None, limit: int = 1000) -> ExportPage:
        """The page of every track (deleted and merged ones too) after cursor ``after``."""
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = after
        for attempt in range(2):
            response = await self.upstream.get(
                EXPORT_PATH,
                params=params,
                authorization=await self.authorization.authorization(),
                timeout=self.timeout_s,
            )
            if response.status_code == 401 and attempt == 0:
                self.authorization.invalidate()
                continue
            break
        if response.status_code != 200:
            raise CatalogError(f"the catalog answered {response.status_code} to an export page")
        body = response.json()
        return ExportPage(tracks=list(body["items"]), next_cursor=body.get("next_cursor"))


class CatalogCallerSettings(ServiceSettings):
    """The settings of a service that calls the catalog's internal endpoints (ingestion,
    playlists): where it answers and how it is called, under the service's own prefix."""

    # Where the catalog answers (the launcher, compose and Koyeb set it).
    catalog_url: str = f"http://127.0.0.1:{CATALOG.dev_port}"
    # A fixed service token for the catalog instead of client credentials from the users
    # service (a process started on its own in tests; never needed with the launcher).
    catalog_token: SecretStr | None = None
    # ≤ the catalog's resolve_max_candidates: one call per this many candidates.
    resolve_batch_size: int = Field(
        default=MAX_CANDIDATES_PER_CALL, ge=1, le=MAX_CANDIDATES_PER_CALL
    )
