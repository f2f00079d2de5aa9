"""Batch entity resolution against real PostgreSQL: the cases that break catalogs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog.resolution import (
    Candidate,
    CandidateError,
    CreditInput,
    Resolution,
    ResolutionConfig,
    fuzzy_confidence,
    resolve,
)

from .conftest import CatalogDb

Sessions = async_sessionmaker[AsyncSession]


async def run(
    sessions: Sessions, candidates: Sequence[Candidate], **kwargs: Any
) -> list[Resolution]:
    async with sessions() as session, session.begin():
        return await resolve(session, candidates, **kwargs)


async def one(sessions: Sessions, candidate: Candidate) -> Resolution:
    (result,) = await run(sessions, [candidate])
    return result


NUMB = Candidate(
    title="Comfortably Numb",
    artist="Pink Floyd",
    album="The Wall",
    album_year=1979,
    duration_ms=382_296,
    isrc="GBN9Y1100088",
)


async def test_a_new_track_is_created_then_found_again(
    fresh: CatalogDb, sessions: Sessions
) -> None:
    first = await one(sessions, NUMB)
    assert (first.created, first.method, first.confidence) == (True, "created", 100)
    again = await one(sessions, NUMB)
    assert again.track_id == first.track_id
    assert (again.created, again.method, again.confidence) == (False, "external_id", 100)
    tracks = await fresh.fetch("SELECT title, artist_names, duration_ms FROM tracks")
    assert [tuple(t) for t in tracks] == [("Comfortably Numb", "Pink Floyd", 382_296)]
    albums = await fresh.fetch("SELECT title, release_year FROM albums")
    assert [tuple(a) for a in albums] == [("The Wall", 1979)]


async def test_the_same_isrc_resolves_whatever_the_title(
    fresh: CatalogDb, sessions: Sessions
) -> None:
    original = await one(sessions, NUMB)
    renamed = await one(
        sessions,
        Candidate(
            title="Comfortably Numb (2011 Remastered Version)",
            artist="PINK FLOYD",
            isrc="gb-n9y-11-00088",
        ),
    )
    assert renamed.track_id == original.track_id
    assert renamed.method == "external_id"


async def test_spotify_and_mbid_ids_resolve_and_are_learned(
    fresh: CatalogDb, sessions: Sessions
) -> None:
    created = await one(
        sessions, Candidate(title="Teardrop", artist="Massive Attack", duration_ms=330_000)
    )
    # An exact match teaches the catalog the ids the candidate carried...
    exact = await one(
        sessions,
        Candidate(
            title="Teardrop",
            artist="Massive Attack",
            spotify_id="67Hna13dNDkZvBpTXRIaOJ",
            mbid="1A2B3C4D-0000-4000-8000-000000000001",
        ),
    )
    assert (exact.track_id, exact.method) == (created.track_id, "exact")
    # ...so the next source with only an id finds it by that id.
    by_spotify = await one(
        sessions,
        Candidate(title="Teardrop?", artist="Unknown", spotify_id="67Hna13dNDkZvBpTXRIaOJ"),
    )
    by_mbid = await one(
        sessions, Candidate(title="x", artist="y", mbid="1a2b3c4d-0000-4000-8000-000000000001")
    )
    assert by_spotify.track_id == by_mbid.track_id == created.track_id
    assert by_spotify.method == by_mbid.method == "external_id"


async def test_same_title_different_artists_are_different_tracks(
    fresh: CatalogDb, sessions: Sessions
) -> None:
    results = await run(
        sessions,
        [
            Candidate(title="Hello", artist="Adele", duration_ms=295_000),
            Candidate(title="Hello", artist="Lionel Richie", duration_ms=251_000),
        ],
    )
    assert results[0].track_id != results[1].track_id
    again = await run(
        sessions,
        [
            Candidate(title="Hello", artist="Adele", duration_ms=295_000),
            Candidate(title="Hello", artist="Lionel Richie", duration_ms=251_000),
        ],
    )
    assert [r.track_id for r in again] == [r.track_id for r in results]
    assert await fresh.fetchval("SELECT count(*) FROM tracks") == 2


async def test_live_acoustic_and_remix_are_other_recordings(
    fresh: CatalogDb, sessions: Sessions
) -> None:
    studio = await one(
        sessions, Candidate(title="Wish You Were Here", artist="Pink Floyd", duration_ms=334_000)
    )
    versions = await run(
        sessions,
        [
            Candidate(title="Wish You Were Here (Live)", artist="Pink Floyd", duration_ms=334_000),
            Candidate(title="Wish You Were Here - Live at Knebworth", artist="Pink Floyd"),
            Candidate(
                title="Wish You Were Here (Acoustic)", artist="Pink Floyd", duration_ms=334_000
            ),
            Candidate(title="Wish You Were Here (Remix)", artist="Pink Floyd", duration_ms=334_000),
        ],
    )
    ids = {studio.track_id, *(r.track_id for r in versions)}
    assert len(ids) == 5
    assert all(r.created for r in versions)


async def test_a_remaster_is_the_original_only_when_the_durations_agree(
    fresh: CatalogDb, sessions: Sessions
) -> None:
    original = await one(
        sessions,
        Candidate(
            title="Money",
            artist="Pink Floyd",
            album="The Dark Side of the Moon",
            duration_ms=382_000,
        ),
    )
    same = await one(
        sessions,
        Candidate(
            title="Money - 2011 Remaster",
            artist="Pink Floyd",
            album="The Dark Side of the Moon",
            duration_ms=383_500,
        ),
    )
    assert same.track_id == original.track_id
    assert (same.method, same.confidence) == ("exact", 90)
    unknown_length = await one(
        sessions, Candidate(title="Money - 2011 Remaster", artist="Pink Floyd")
    )
    assert unknown_length.track_id != original.track_id
    assert unknown_length.created
    longer = await one(
        sessions,
        Candidate(title="Money (Remastered 2023)", artist="Pink Floyd", duration_ms=420_000),
    )
    assert longer.track_id != original.track_id


async def test_accents_case_and_punctuation_do_not_matter(
    fresh: CatalogDb, sessions: Sessions
) -> None:
    created = await one(sessions, Candidate(title="Jóga", artist="Björk", album="Homogenic"))
    for title, artist in (("joga", "bjork"), ("JÓGA!", "BJÖRK"), ("Joga", "Bjork")):
        found = await one(sessions, Candidate(title=title, artist=artist, album="Homogenic"))
        assert (found.track_id, found.method) == (created.track_id, "exact")
    assert await fresh.fetchval("SELECT count(*) FROM artists") == 1


async def test_a_leading_the_and_an_ampersand_do_not_split_an_artist(
    fresh: CatalogDb, sessions: Sessions
) -> None:
    created = await one(sessions, Candidate(title="Let It Be", artist="The Beatles"))
    for artist in ("Beatles", "Beatles, The", "the beatles"):
        assert (
            await one(sessions, Candidate(title="Let It Be", artist=artist))
        ).track_id == created.track_id
    duo = await one(sessions, Candidate(title="The Boxer", artist="Simon & Garfunkel"))
    same_duo = await one(sessions, Candidate(title="The Boxer", artist="Simon and Garfunkel"))
    assert same_duo.track_id == duo.track_id
    assert await fresh.fetchval("SELECT count(*) FROM artists") == 2


async def test_featuring_credits_do_not_split_the_artist_or_the_track(
    fresh: CatalogDb, sessions: Sessions
) -> None:
    results = await run(
        sessions,
        [
            Candidate(
                title="Get Lucky (feat. Pharrell Williams & Nile Rodgers)",
                artist="Daft Punk",
                duration_ms=369_000,
            ),
            Candidate(
                title="Get Lucky",
                artist="Daft Punk feat. Pharrell Williams & Nile Rodgers",
                duration_ms=369_500,
            ),
            Candidate(
                title="Get Lucky [ft. Pharrell Williams]", artist="Daft Punk ft. Pharrell Williams"
            ),
            Candidate(
                title="Get Lucky",
                artists=(CreditInput("Daft Punk", " feat. "), CreditInput("Pharrell Williams")),
            ),
        ],
    )
    assert len({r.track_id for r in results}) == 1
    names = {r["name"] for r in await fresh.fetch("SELECT name FROM artists")}
    assert names == {"Daft Punk", "Pharrell Williams", "Nile Rodgers"}
    credits = await fresh.fetch(
        "SELECT credited_name, join_phrase FROM track_credits ORDER BY position"
    )
    assert [tuple(c) for c in credits] == [
        ("Daft Punk", " feat. "),
        ("Pharrell Williams", " & "),
        ("Nile Rodgers", ""),
    ]
    assert await fresh.fetchval("SELECT artist_names FROM tracks") == (
        "Daft Punk feat. Pharrell Williams & Nile Rodgers"
    )
    # The track's primary artist is Daft Punk alone.
    assert (
        await fresh.fetchval(
            "SELECT a.name FROM tracks t JOIN artists a ON a.id = t.primary_artist_id"
        )
        == "Daft Punk"
    )


async def test_self_titled_albums_of_different_years_stay_apart(
    fresh: CatalogDb, sessions: Sessions
) -> None:
    results = await run(
        sessions,
        [
            Candidate(title="Buddy Holly", artist="Weezer", album="Weezer", album_year=1994),
            Candidate(title="Say It Ain't So", artist="Weezer", album="Weezer", album_year=1994),
            Candidate(title="Island in the Sun", artist="Weezer", album="Weezer", album_year=2001),
            Candidate(
                title="Pork and Beans", artist="Weezer", album="Weezer (Red Album)", album_year=2008
            ),
        ],
    )
    blue, blue2, green, red = results
    assert blue.album_id == blue2.album_id
    assert len({blue.album_id, green.album_id, red.album_id}) == 3
    later = await run(
        sessions,
        [
            Candidate(title="My Name Is Jonas", artist="Weezer", album="Weezer", album_year=1994),
            Candidate(title="Hash Pipe", artist="Weezer", album="Weezer", album_year=2001),
        ],
    )
    assert [r.album_id for r in later] == [blue.album_id, green.album_id]
    years = [
        r["release_year"]
        for r in await fresh.fetch(
            "SELECT release_year FROM albums WHERE title = 'Weezer' ORDER BY 1"
        )
    ]
    assert years == [1994, 2001]


async def test_typos_resolve_fuzzily_with_a_confidence(
    fresh: CatalogDb, sessions: Sessions
) -> None:
    created = await one(sessions, NUMB)
    typo = await one(
        sessions, Candidate(title="Comfortably Numbb", artist="Pink Floid", duration_ms=381_000)
    )
    assert (typo.track_id, typo.method) == (created.track_id, "fuzzy")
    assert 80 <= typo.confidence < 100
    # Too far from anything known: a new track.
    other = await one(sessions, Candidate(title="Comfortably Dumb Song", artist="Pink Flamingos"))
    assert other.created


async def test_candidates_of_one_batch_describing_one_new_track_create_it_once(
    fresh: CatalogDb, sessions: Sessions
) -> None:
    results = await run(
        sessions,
        [
            Candidate(title="Nude", artist="Radiohead", album="In Rainbows", isrc="GBSTK0700001"),
            Candidate(title="NUDE", artist="radiohead", album="In Rainbows"),
            Candidate(title="Nude (2007)", artist="Radiohead", isrc="GBSTK0700001"),
            Candidate(title="Nude", artist="Radiohead"),
        ],
    )
    assert len({r.track_id for r in results}) == 1
    assert all(r.created for r in results)
    assert await fresh.fetchval("SELECT count(*) FROM tracks") == 1
    assert await fresh.fetchval("SELECT count(*) FROM albums") == 1


async def test_a_resolver_kept_waiting_by_the_lock_finds_what_its_holder_created(
    fresh: CatalogDb, sessions: Sessions
) -> None:
    candidate = Candidate(title="Airbag", artist="Radiohead", album="OK Computer")
    async with sessions() as holder, holder.begin():
        # The holder's resolve takes the write lock, and keeps it until its commit.
        (created,) = await resolve(holder, [candidate])
        waiting = asyncio.create_task(one(sessions, candidate))
        await asyncio.sleep(0.3)
        # The other looked, found nothing (uncommitted), and now waits to create.
        assert not waiting.done()
    result = await waiting
    assert (result.track_id, result.created, result.method) == (created.track_id, False, "exact")
    assert await fresh.fetchval("SELECT count(*) FROM tracks") == 1


async def test_two_concurrent_resolvers_create_one_track(
    fresh: CatalogDb, sessions: Sessions
) -> None:
    candidate = Candidate(
        title="Paranoid Android", artist="Radiohead", album="OK Computer", duration_ms=383_000
    )
    started = asyncio.Event()

    async def resolver() -> Resolution:
        async with sessions() as session, session.begin():
            await started.wait()
            (result,) = await resolve(session, [candidate])
            await asyncio.sleep(0.05)  # hold the transaction open a moment
            return result

    tasks = [asyncio.create_task(resolver()) for _ in range(2)]
    started.set()
    first, second = await asyncio.gather(*tasks)
    assert first.track_id == second.track_id
    assert sorted([first.created, second.created]) == [False, True]
    assert await fresh.fetchval("SELECT count(*) FROM tracks") == 1
    assert await fresh.fetchval("SELECT count(*) FROM artists") == 1
    assert await fresh.fetchval("SELECT count(*) FROM albums") == 1


async def test_creation_publishes_one_event_per_new_entity(
    fresh: CatalogDb, sessions: Sessions
) -> None:
    await run(
        sessions,
        [NUMB, Candidate(title="Hey You", artist="Pink Floyd", album="The Wall", album_year=1979)],
        source="spotify",
    )
    events = await fresh.events()
    counts: dict[str, int] = {}
    for event in events:
        counts[event["type"]] = counts.get(event["type"], 0) + 1
    assert counts == {
        "catalog.artist.created": 1,
        "catalog.album.created": 1,
        "catalog.track.created": 2,
    }
    tracks = [json.loads(e["data"]) for e in events if e["type"] == "catalog.track.created"]
    assert sorted(t["title"] for t in tracks) == ["Comfortably Numb", "Hey You"]
    assert {t["album_title"] for t in tracks} == {"The Wall"}
    assert [c["name"] for c in tracks[0]["credits"]] == ["Pink Floyd"]
    created = {e["subject"] for e in events if e["type"] == "catalog.track.created"}
    assert created == {t["track_id"] for t in tracks}
    assert (
        await fresh.fetchval("SELECT count(DISTINCT source) FROM tracks WHERE source = 'spotify'")
        == 1
    )
    # Resolving the same again changes nothing and publishes nothing.
    await run(sessions, [NUMB])
    assert len(await fresh.events()) == len(events)


async def test_unusable_candidates_are_refused_with_their_index(
    fresh: CatalogDb, sessions: Sessions
) -> None:
    with pytest.raises(CandidateError) as bad_isrc:
        await run(sessions, [NUMB, Candidate(title="x", artist="y", isrc="not-an-isrc")])
    assert bad_isrc.value.index == 1
    with pytest.raises(CandidateError):
        await run(sessions, [Candidate(title="x", artist="y", duration_ms=0)])
    with pytest.raises(CandidateError):
        await run(sessions, [Candidate(title="x")])
    assert await fresh.fetchval("SELECT count(*) FROM tracks") == 0


def test_the_confidence_is_a_weighted_distance() -> None:
    config = ResolutionConfig()
    perfect = fuzzy_confidence(
        config, title_sim=1, artist_sim=1, album_sim=1, duration_a=1, duration_b=1
    )
    assert perfect == 100
    # Within the grace period the duration costs nothing; far beyond it, its full weight.
    close = fuzzy_confidence(
        config, title_sim=1, artist_sim=1, album_sim=None, duration_a=200_000, duration_b=209_000
    )
    far = fuzzy_confidence(
        config, title_sim=1, artist_sim=1, album_sim=None, duration_a=200_000, duration_b=300_000
    )
    assert close == 100
    assert far == round(100 * (1 - 2 / 8))
