"""Search as a user sees it: typos, accents, ranking, facets, filters, pages."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog.resolution import Candidate, resolve

from .conftest import CatalogDb, Headers, assert_problem

Client = AsyncTestClient[Any]

LIBRARY = [
    # (title, artist, album, year)
    ("In the Flesh?", "Pink Floyd", "The Wall", 1979),
    ("Another Brick in the Wall, Pt. 2", "Pink Floyd", "The Wall", 1979),
    ("Comfortably Numb", "Pink Floyd", "The Wall", 1979),
    ("Hey You", "Pink Floyd", "The Wall", 1979),
    ("Money", "Pink Floyd", "The Dark Side of the Moon", 1973),
    ("Wish You Were Here", "Pink Floyd", "Wish You Were Here", 1975),
    ("Mexican Radio", "Wall of Voodoo", "Call of the West", 1982),
    ("One Headlight", "The Wallflowers", "Bringing Down the Horse", 1996),
    ("Last Date", "Floyd Cramer", "Last Date", 1960),
    ("Get the Party Started", "P!nk", "Missundaztood", 2001),
    ("Fluid", "Pink Fluid Orchestra", "Liquid Walls", 2010),
    ("Wonderwall", "Oasis", "(What's the Story) Morning Glory?", 1995),
    ("Jóga", "Björk", "Homogenic", 1997),
    ("Bachelorette", "Björk", "Homogenic", 1997),
    ("Karma Police", "Radiohead", "OK Computer", 1997),
    ("Paranoid Android", "Radiohead", "OK Computer", 1997),
]


@pytest.fixture
async def library(fresh: CatalogDb, sessions: async_sessionmaker[AsyncSession]) -> CatalogDb:
    async with sessions() as session, session.begin():
        await resolve(
            session,
            [Candidate(title=t, artist=a, album=al, album_year=y) for t, a, al, y in LIBRARY],
        )
    return fresh


async def search(client: Client, **params: Any) -> dict[str, Any]:
    response = await client.get("/search", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_pink_floid_wal_finds_the_wall_first(library: CatalogDb, client: Client) -> None:
    body = await search(client, q="pink floid wal")
    first = body["items"][0]
    assert (first["type"], first["name"], first["artist_names"]) == (
        "album",
        "The Wall",
        "Pink Floyd",
    )
    names = [(i["type"], i["name"]) for i in body["items"]]
    assert ("track", "Another Brick in the Wall, Pt. 2") in names
    assert "floyd" in body["interpretation"]["floid"]
    # Entities sharing a word or two with the query, but not all of it, are not found.
    artists = {i.get("artist_names") for i in body["items"]}
    assert not artists & {"Wall of Voodoo", "The Wallflowers", "Floyd Cramer", "P!nk", "Oasis"}


async def test_search_is_accent_and_case_insensitive(library: CatalogDb, client: Client) -> None:
    for q in ("bjork joga", "BJÖRK JÓGA", "Bjork, Joga!"):
        body = await search(client, q=q)
        assert (body["items"][0]["type"], body["items"][0]["name"]) == ("track", "Jóga")


async def test_an_artist_typo_finds_the_artist_first(library: CatalogDb, client: Client) -> None:
    body = await search(client, q="radiohed")
    assert (body["items"][0]["type"], body["items"][0]["name"]) == ("artist", "Radiohead")
    found = {(i["type"], i["name"]) for i in body["items"]}
    assert {
        ("album", "OK Computer"),
        ("track", "Karma Police"),
        ("track", "Paranoid Android"),
    } <= found


async def test_types_facets_and_filters(library: CatalogDb, client: Client) -> None:
    body = await search(client, q="pink floyd")
    assert body["facets"]["artist"] == 1
    assert body["facets"]["album"] == 3
    assert body["facets"]["track"] == 6
    albums = await search(client, q="pink floyd", type="album")
    assert {i["type"] for i in albums["items"]} == {"album"}
    assert len(albums["items"]) == 3
    seventies = await search(client, q="pink floyd", type="album,track", year=1975)
    assert {i["name"] for i in seventies["items"]} == {"Wish You Were Here"}
    assert_problem(await client.get("/search", params={"q": "x", "type": "playlist"}), 422)
    assert_problem(await client.get("/search", params={"q": "!!!"}), 422)
    assert_problem(await client.get("/search", params={"q": "floyd", "cursor": "bogus"}), 422)


async def test_pages_cover_every_result_once(library: CatalogDb, client: Client) -> None:
    everything = await search(client, q="pink floyd", limit=100)
    expected = [(i["type"], i["id"]) for i in everything["items"]]
    assert len(expected) == 10
    seen: list[tuple[str, str]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"q": "pink floyd", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = await search(client, **params)
        assert (page["facets"] is None) == (cursor is not None)  # counted on the first page
        seen.extend((i["type"], i["id"]) for i in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected


async def test_when_no_entity_has_every_word_any_word_will_do(
    library: CatalogDb, client: Client
) -> None:
    body = await search(client, q="radiohead xylophonequartet")
    assert body["mode"] == "any"
    assert body["items"][0]["name"] == "Radiohead"


async def test_deleted_and_merged_entities_are_not_found(
    library: CatalogDb, client: Client, auth: Headers
) -> None:
    hit = (await search(client, q="bachelorette"))["items"][0]
    assert (await client.delete(f"/tracks/{hit['id']}", headers=auth("admin"))).status_code == 204
    assert (await search(client, q="bachelorette"))["items"] == []


async def test_the_vocabulary_follows_renames(
    library: CatalogDb, client: Client, auth: Headers
) -> None:
    hit = (await search(client, q="mexican radio"))["items"][0]
    renamed = await client.patch(
        f"/tracks/{hit['id']}", json={"title": "Mexicali Wireless"}, headers=auth("admin")
    )
    assert renamed.status_code == 200
    assert (await search(client, q="mexicalli wireles"))["items"][0]["id"] == hit["id"]
