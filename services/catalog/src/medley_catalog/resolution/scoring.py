"""How alike a candidate and a catalog track are (stage 3, fuzzy): pure, no database.

The database proposes pairs (trigram blocking, see :mod:`.stages`); this module decides:
versions must agree exactly, a variant needs agreeing durations, then title, artist and
album are compared with edit-distance ratios and the duration by its gap, weighted like
beets' distance.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from medley_catalog.normalize import version_tags
from medley_catalog.queries import as_uuid
from medley_catalog.resolution.prepare import Prepared


@dataclass(frozen=True)
class ResolutionConfig:
    fuzzy_min_confidence: int = 80
    duration_grace_ms: int = 10_000
    duration_max_ms: int = 30_000
    variant_tolerance_ms: int = 3_000
    # Blocking: pairs below this trigram similarity (titles; artists for known titles) are
    # not looked at; artists at least ``artist_similarity`` alike are (trigram index).
    min_similarity: float = 0.4
    artist_similarity: float = 0.45
    # Scoring: edit-distance ratios (difflib) each field must reach.
    min_title_ratio: float = 0.8
    min_artist_ratio: float = 0.8
    # Weights of the distance (beets: track title 3, artist ~3, album 1, length 2).
    weight_title: float = 3.0
    weight_artist: float = 3.0
    weight_album: float = 1.0
    weight_duration: float = 2.0


# What a fuzzy stage knows of a catalog track: id, album_id, title_norm, title_variant,
# duration_ms, artist_names_search, primary_norm, album_norm (a database row, or a dict).
TrackRow = Mapping[str, Any]
# A fuzzy answer: (track id, album id, confidence).
FuzzyMatch = tuple[uuid.UUID, uuid.UUID | None, int]


def ratio(a: str, b: str) -> float:
    """How alike two normalised strings are, 0 to 1 (difflib's ratio: typo-tolerant)."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def fuzzy_confidence(
    config: ResolutionConfig,
    *,
    title_sim: float,
    artist_sim: float,
    album_sim: float | None,
    duration_a: int | None,
    duration_b: int | None,
) -> int:
    """100 * (1 - weighted distance), the distance in the spirit of beets'."""
    total = config.weight_title * (1 - title_sim) + config.weight_artist * (1 - artist_sim)
    weights = config.weight_title + config.weight_artist
    if album_sim is not None:
        total += config.weight_album * (1 - album_sim)
        weights += config.weight_album
    if duration_a is not None and duration_b is not None:
        over = max(0, abs(duration_a - duration_b) - config.duration_grace_ms)
        total += config.weight_duration * min(1.0, over / config.duration_max_ms)
        weights += config.weight_duration
    return max(0, min(100, round(100 * (1 - total / weights))))


def score(p: Prepared, track: TrackRow, config: ResolutionConfig) -> int | None:
    """The confidence that ``track`` is the candidate's recording, or None when it is not
    (another version, a variant of another length, too unlike, or below the threshold)."""
    if version_tags(track["title_norm"]) != p.tags:
        return None  # "live", "remix", "acoustic": another recording
    duration = p.candidate.duration_ms
    if track["title_variant"] != p.title_variant and (
        duration is None
        or track["duration_ms"] is None
        or abs(duration - track["duration_ms"]) > config.variant_tolerance_ms
    ):
        return None  # a remaster is the original only when the durations agree
    title_ratio = ratio(track["title_norm"], p.title_norm)
    primary = track["primary_norm"] or ""
    artist_ratio = max(
        ratio(primary, p.primary_norm),
        ratio(primary, p.primary_alt or ""),
        ratio(track["artist_names_search"], p.artist_search),
    )
    if title_ratio < config.min_title_ratio or artist_ratio < config.min_artist_ratio:
        return None
    album_ratio = None
    if p.album_norm is not None and track["album_norm"] is not None:
        album_ratio = ratio(track["album_norm"], p.album_norm)
    confidence = fuzzy_confidence(
        config,
        title_sim=title_ratio,
        artist_sim=artist_ratio,
        album_sim=album_ratio,
        duration_a=duration,
        duration_b=track["duration_ms"],
    )
    return confidence if confidence >= config.fuzzy_min_confidence else None


def best_matches(
    pairs: Iterable[tuple[int, Any]],
    tracks: Mapping[Any, TrackRow],
    by_index: Mapping[int, Prepared],
    config: ResolutionConfig,
) -> dict[int, FuzzyMatch]:
    """For each candidate among the ``(index, track id)`` pairs, the most confident track
    (between equals, the oldest: the smallest id)."""
    best: dict[int, tuple[int, uuid.UUID, uuid.UUID | None]] = {}
    for index, track_key in pairs:
        p = by_index.get(index)
        track = tracks.get(track_key)
        if p is None or track is None:
            continue
        confidence = score(p, track, config)
        if confidence is None:
            continue
        track_id = as_uuid(track["id"])
        current = best.get(index)
        if current is None or (-confidence, track_id) < (-current[0], current[1]):
            album_id = as_uuid(track["album_id"]) if track["album_id"] else None
            best[index] = (confidence, track_id, album_id)
    return {i: (t, a, c) for i, (c, t, a) in best.items()}
