"""The pure steps of resolution (no database): candidates in normal form, fuzzy scoring,
grouping new tracks, keying their albums, and the rows and events of what is created."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from medley_catalog.normalize import Credit, normalize_artist
from medley_catalog.resolution import (
    Candidate,
    CandidateError,
    CreditInput,
    Prepared,
    ResolutionConfig,
    prepare,
)
from medley_catalog.resolution.plan import (
    TRACK_COLUMNS,
    NewRows,
    artist_names_needed,
    group,
    new_album,
    new_track,
    plan_albums,
)
from medley_catalog.resolution.prepare import merge_featured
from medley_catalog.resolution.scoring import best_matches, score
from medley_contracts import catalog as contracts

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def ids() -> Callable[[], uuid.UUID]:
    """Predictable ids: 00000000-…-000000000001, …02, … in the order asked."""
    counter = itertools.count(1)
    return lambda: uuid.UUID(int=next(counter))


def prepared(*candidates: Candidate) -> list[Prepared]:
    return [prepare(i, c) for i, c in enumerate(candidates)]


def artist_ids(groups: Any) -> dict[str, uuid.UUID]:
    make = ids()
    return {norm: make() for norm in artist_names_needed(groups)}


# --- prepare ---------------------------------------------------------------------------------


def test_prepare_normalises_title_artist_album_and_ids() -> None:
    p = prepare(
        3,
        Candidate(
            title="Under Pressure (feat. David Bowie) - 2011 Remaster",
            artist="Queen & Friends",
            album="Hot Space",
            isrc="gb-aaa-81-00001",
            spotify_id="4tiJPmQ2sK3XrJ4G1pkGkt",
        ),
    )
    assert p.index == 3
    assert (p.title_norm, p.title_variant) == ("under pressure", "2011 remaster")
    # The featured artist joins the credits; "A & B" also guesses A alone as the primary.
    assert p.credits == [Credit("Queen & Friends", " feat. "), Credit("David Bowie")]
    assert p.printed == "Queen & Friends feat. David Bowie"
    assert (p.primary_norm, p.primary_alt) == ("queen and friends", "queen")
    # Without an album artist, the album is credited to the primary artist.
    assert p.album_norm == "hot space"
    assert p.album_credits == [Credit("Queen & Friends")]
    # Ids in canonical form, in the order of trust: MBID, Spotify, ISRC.
    assert p.isrc == "GBAAA8100001"
    assert p.external_keys == [("spotify", "4tiJPmQ2sK3XrJ4G1pkGkt"), ("isrc", "GBAAA8100001")]


def test_structured_credits_win_and_are_not_split() -> None:
    p = prepare(
        0,
        Candidate(
            title="Song",
            artist="ignored",
            artists=[CreditInput("A", " & "), CreditInput(" ", " x "), CreditInput("B", " x ")],
        ),
    )
    # Blank names dropped, the last join phrase cleared, no guessing at "A & B".
    assert p.credits == [Credit("A", " & "), Credit("B")]
    assert p.primary_alt is None


def test_featured_artists_already_credited_are_not_added_twice() -> None:
    credits = [Credit("A", " feat. "), Credit("B")]
    assert merge_featured(credits, ["b"]) is credits
    assert merge_featured([Credit("A")], ["B", "C"]) == [
        Credit("A", " feat. "),
        Credit("B", " & "),
        Credit("C"),
    ]


@pytest.mark.parametrize(
    ("candidate", "message"),
    [
        (Candidate(title=" ", artist="A"), "a title is required"),
        (Candidate(title="T"), "an artist (or artist credits) is required"),
        (Candidate(title="T", artists=[CreditInput(" ")]), "an artist"),
        (Candidate(title="T", artist="A", duration_ms=0), "duration_ms must be positive"),
        (Candidate(title="T", artist="A", album_type="lp"), "album_type must be one of"),
        (Candidate(title="T", artist="A", isrc="not-an-isrc"), "ISRC"),
        (Candidate(title="!!!", artist="A"), "the title has no letters or digits"),
        (Candidate(title="T", artist="???"), "the artist name has no letters or digits"),
    ],
)
def test_unusable_candidates_are_refused_with_their_index(
    candidate: Candidate, message: str
) -> None:
    with pytest.raises(CandidateError) as refused:
        prepare(7, candidate)
    assert refused.value.index == 7
    assert message.lower() in refused.value.message.lower()


# --- fuzzy scoring ---------------------------------------------------------------------------


def track_row(track_id: int, **fields: Any) -> dict[str, Any]:
    row = {
        "id": uuid.UUID(int=track_id),
        "album_id": None,
        "title_norm": "comfortably numb",
        "title_variant": "",
        "duration_ms": 382_000,
        "artist_names_search": "pink floyd",
        "primary_norm": "pink floyd",
        "album_norm": "the wall",
    }
    return row | fields


NUMB = Candidate(
    title="Comfortably Numb", artist="Pink Floyd", album="The Wall", duration_ms=382_000
)
CONFIG = ResolutionConfig()


def test_a_typo_scores_high_and_another_version_not_at_all() -> None:
    (p,) = prepared(NUMB)
    assert score(p, track_row(1), CONFIG) == 100
    typo = score(p, track_row(1, title_norm="comfortably numbb"), CONFIG)
    assert typo is not None
    assert CONFIG.fuzzy_min_confidence <= typo < 100
    assert score(p, track_row(1, title_norm="comfortably numb live"), CONFIG) is None
    assert score(p, track_row(1, title_norm="wish you were here"), CONFIG) is None
    other_artist = {"primary_norm": "pink", "artist_names_search": "pink"}
    assert score(p, track_row(1, **other_artist), CONFIG) is None


def test_a_variant_matches_only_with_agreeing_durations() -> None:
    (p,) = prepared(NUMB)
    remaster = track_row(1, title_variant="2011 remaster")
    assert score(p, remaster, CONFIG) is not None
    assert score(p, remaster | {"duration_ms": 400_000}, CONFIG) is None
    assert score(p, remaster | {"duration_ms": None}, CONFIG) is None


def test_the_best_match_is_the_most_confident_then_the_oldest() -> None:
    (p,) = prepared(NUMB)
    tracks = {
        1: track_row(3, title_norm="comfortably numbb"),
        2: track_row(2),
        3: track_row(1),
        4: track_row(4, title_norm="comfortably numb live"),
    }
    pairs = [(0, 1), (0, 2), (0, 3), (0, 4), (0, 99), (5, 1)]
    assert best_matches(pairs, tracks, {0: p}, CONFIG) == {0: (uuid.UUID(int=1), None, 100)}


# --- grouping new tracks ---------------------------------------------------------------------


def test_candidates_with_the_same_keys_or_a_shared_id_make_one_new_track() -> None:
    pending = prepared(
        Candidate(title="Song", artist="A", album="Album", isrc="USAAA0000001"),
        Candidate(title="song", artist="a", album="album"),  # same keys
        Candidate(title="Other title", artist="Z", isrc="USAAA0000001"),  # same ISRC
        Candidate(title="Song", artist="A"),  # no album: joins the one with it
        Candidate(title="Song", artist="A", album="Another album"),  # another track
    )
    groups = group(pending, ids())
    assert [[m.index for m in g.members] for g in groups] == [[0, 1, 2, 3], [4]]
    assert [g.id for g in groups] == [uuid.UUID(int=1), uuid.UUID(int=2)]


def test_a_new_track_takes_each_field_from_the_first_member_that_knows_it() -> None:
    pending = prepared(
        Candidate(title="Song", artist="A", duration_ms=None, track_number=4),
        Candidate(title="Song", artist="A", duration_ms=200_000, track_number=5),
    )
    (g,) = group(pending, ids())
    assert (g.pick("duration_ms"), g.pick("track_number"), g.pick("disc_number")) == (
        200_000,
        4,
        None,
    )


def test_albums_without_a_year_join_the_same_album_with_one() -> None:
    pending = prepared(
        Candidate(title="One", artist="Weezer", album="Weezer", album_year=1994),
        Candidate(title="Two", artist="Weezer", album="Weezer", album_year=2001),
        Candidate(title="Three", artist="Weezer", album="Weezer"),
        Candidate(title="Four", artist="Weezer"),
    )
    groups = group(pending, ids())
    artists = artist_ids(groups)
    plan = plan_albums(groups, artists)
    weezer = artists["weezer"]
    assert [plan.of_group.get(g.id) for g in groups] == [
        ("weezer", weezer, 1994),
        ("weezer", weezer, 2001),
        ("weezer", weezer, 1994),  # the first year known for that title and artist
        None,
    ]
    # Each album is described by the first track naming it.
    assert {k: g.first.index for k, g in plan.described_by.items()} == {
        ("weezer", weezer, 1994): 0,
        ("weezer", weezer, 2001): 1,
    }


def test_artists_needed_are_those_of_tracks_and_albums_first_spelling_kept() -> None:
    groups = group(
        prepared(
            Candidate(title="X", artist="The Band feat. Guest", album="Y", album_artist="Other"),
            Candidate(title="Z", artist="the band"),
        ),
        ids(),
    )
    assert artist_names_needed(groups) == {
        "band": "The Band",
        "guest": "Guest",
        "other": "Other",
    }


# --- rows and events of what is created ------------------------------------------------------


def test_a_new_track_row_event_and_ids() -> None:
    pending = prepared(
        Candidate(
            title=" Song (feat. B) ",
            artist="A",
            isrc="USAAA0000001",
            duration_ms=200_000,
            explicit=True,
        ),
        Candidate(title="Song", artist="A", mbid="f3b6c7e4-0c5c-4b5e-9d8f-2a1b3c4d5e6f"),
        Candidate(title="Song", artist="A", isrc="USAAA0000001"),
    )
    (g,) = group(pending, ids())
    artists = artist_ids([g])
    album_id = uuid.UUID(int=99)
    rows = NewRows()
    attached = new_track(rows, g, album_id, "The Album", artists, source="spotify", now=NOW)
    assert attached == [
        ("isrc", "USAAA0000001", g.id),
        ("mbid", "f3b6c7e4-0c5c-4b5e-9d8f-2a1b3c4d5e6f", g.id),
    ]
    (row,) = rows.rows
    named = dict(zip(TRACK_COLUMNS, row, strict=True))
    assert named["title"] == "Song (feat. B)"
    assert named["album_title_search"] == "the album"
    assert named["artist_names"] == "A feat. B"
    assert named["primary_artist_id"] == artists["a"]
    assert (named["duration_ms"], named["explicit"], named["source"]) == (200_000, True, "spotify")
    assert rows.credit_rows == [
        (g.id, 0, artists["a"], "A", " feat. "),
        (g.id, 1, artists["b"], "B", ""),
    ]
    ((event_type, payload, subject),) = rows.events
    assert event_type is contracts.TRACK_CREATED
    assert subject == str(g.id)
    assert isinstance(payload, contracts.TrackV1)
    assert (payload.album_id, payload.album_title, payload.isrcs) == (
        album_id,
        "The Album",
        ["USAAA0000001"],
    )


def test_a_new_album_row_and_event() -> None:
    pending = prepared(
        Candidate(
            title="X",
            artist="A",
            album="Greatest Hits (Deluxe)",
            album_artist="A & B",
            album_type="compilation",
        )
    )
    (g,) = group(pending, ids())
    artists = artist_ids([g])
    assert normalize_artist("A & B") in artists
    plan = plan_albums([g], artists)
    ((key, described_by),) = plan.described_by.items()
    rows = NewRows()
    new_album(rows, uuid.UUID(int=7), key, described_by, artists, source=None, now=NOW)
    ((album_id, title, *_rest),) = rows.rows
    assert (album_id, title) == (uuid.UUID(int=7), "Greatest Hits (Deluxe)")
    assert rows.rows[0][5] == "compilation"
    ((_, payload, _),) = rows.events
    assert isinstance(payload, contracts.AlbumV1)
    assert (payload.artist_names, payload.album_type) == ("A & B", "compilation")
