"""Batch entity resolution: which catalog track is this (title, artists, album, duration, ids)?

Ingestion sends up to a thousand candidates at a time; every candidate gets a track id, the
method that found it and a confidence. The work is set-based: the candidates are COPYed into
a temporary table and each stage is one or two statements over all of them, never a query
per candidate.

Stages, in order; a candidate leaves at the first that answers:

1. ``external_id`` (confidence 100): a live track carrying the candidate's MusicBrainz
   recording id, Spotify id or ISRC (in that order of trust). The title does not matter:
   an ISRC names the recording, whatever a source calls it.
2. ``exact``: same normalised title (featuring credits and variant markers removed, version
   markers kept) and same primary artist (normalised: case, accents, "&", leading "The"), and
   the same album (title and, when both know it, year) when the candidate names one. A
   variant ("- 2011 Remaster") matches the original only when both durations are known and
   agree within ``variant_tolerance_ms``. 100, less 5 without an album, less 10 for a variant
   or for a primary artist only guessed by splitting "A & B".
3. ``fuzzy``: pairs are found by trigram similarity (titles among the tracks of an artist
   known by that name, or, when no artist has it, of artists spelt alike), then
   scored with edit-distance ratios of title, artists and album, and the duration, weighted
   like beets' distance (title 3, artist 3, album 1, duration 2 with a grace of 10 s and a
   maximum of 30 s); confidence = 100 * (1 - distance), accepted from
   ``fuzzy_min_confidence``. Versions must agree exactly ("live", "remix", "acoustic"… on
   both sides or neither) and variants need agreeing durations, as above.
4. ``created`` (100): what is still unknown is created in bulk: artists by normalised name,
   albums by (title, primary artist, year), tracks with their ordered credits and external
   ids. Candidates of the same batch that describe the same new track (same keys, or sharing
   an external id) create it once.

Two resolvers creating the same new track create it once: creation happens under the
catalog's write lock (an advisory transaction lock). A resolver tries that lock before its
first look; when it is free (the usual case: one import at a time), every statement after it
already sees all that earlier creators committed, and stages 1 and 2 run once. When another
transaction holds it, the resolver looks without it, then waits for the lock and runs stages
1 and 2 again for what is left, so it sees whatever the other committed meanwhile.

The package: :mod:`.prepare` (candidates in normal form), :mod:`.scoring` (fuzzy
confidence) and :mod:`.plan` (what to create) are pure and tested without PostgreSQL;
:mod:`.stages` (the staged candidates and the matching statements), :mod:`.create` (bulk
creation) and :mod:`.pipeline` (the whole) talk to the database.
"""

from medley_catalog.resolution.pipeline import Method, Resolution, resolve, resolve_known
from medley_catalog.resolution.prepare import (
    ALBUM_TYPES,
    Candidate,
    CandidateError,
    CreditInput,
    Prepared,
    prepare,
)
from medley_catalog.resolution.scoring import ResolutionConfig, fuzzy_confidence, ratio

__all__ = [
    "ALBUM_TYPES",
    "Candidate",
    "CandidateError",
    "CreditInput",
    "Method",
    "Prepared",
    "Resolution",
    "ResolutionConfig",
    "fuzzy_confidence",
    "prepare",
    "ratio",
    "resolve",
    "resolve_known",
]
