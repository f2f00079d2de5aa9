"""The catalog's typed answers: the entity routes share one controller, yet each documents
its own entity's answer, and no answer drops a field its read returns. (The check that
every route declares a shape runs over every registered service in
``deploy/local/tests/test_openapi_shapes.py``.)"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog import listing, queries
from medley_catalog.api.answers import (
    ALBUM_ANSWERS,
    ARTIST_ANSWERS,
    TRACK_ANSWERS,
    AlbumRow,
    ArtistRow,
    GenreRow,
    SearchResults,
    TrackRow,
)
from medley_catalog.queries import EntityType
from medley_catalog.search import search

from .conftest import CatalogDb, Headers

Sessions = async_sessionmaker[AsyncSession]


async def test_each_entity_route_documents_its_own_entity(client: AsyncTestClient[Any]) -> None:
    document = (await client.get("/schema/openapi.json")).json()

    def answer(path: str, method: str = "get") -> Any:
        responses = document["paths"][path][method]["responses"]
        success = next(r for status, r in responses.items() if status.startswith("2"))
        return success["content"]["application/json"]["schema"]

    assert answer("/tracks/{entity_id}") == {"$ref": "#/components/schemas/TrackDetail"}
    assert answer("/albums/{entity_id}") == {"$ref": "#/components/schemas/AlbumDetail"}
    assert answer("/artists/lookup") == {"$ref": "#/components/schemas/ArtistDetail"}
    batch = document["components"]["schemas"][answer("/albums/batch", "post")["$ref"][21:]]
    assert batch["properties"]["items"]["items"] == {"$ref": "#/components/schemas/AlbumOut"}


async def test_each_answer_carries_every_field_the_reads_return(
    fresh: CatalogDb, client: AsyncTestClient[Any], auth: Headers, sessions: Sessions
) -> None:
    """The typed answers drop nothing: each is, field for field, the row its read returns."""
    admin = auth("admin")
    album = (
        await client.post(
            "/albums",
            json={"title": "Dummy", "credits": [{"name": "Portishead"}], "genres": ["Trip Hop"]},
            headers=admin,
        )
    ).json()
    track = (
        await client.post(
            "/tracks",
            json={
                "title": "Roads",
                "credits": [{"name": "Portishead"}],
                "album_id": album["id"],
                "external_ids": [{"namespace": "isrc", "value": "GBAAN9400012"}],
            },
            headers=admin,
        )
    ).json()
    artist_id = uuid.UUID(track["credits"][0]["artist_id"])
    media = {"url": "https://example.com/a.jpg", "width": 10, "height": 10, "source": "test"}
    for kind, entity_id in (("tracks", track["id"]), ("artists", str(artist_id))):
        await client.post(f"/{kind}/{entity_id}/images", json=media, headers=admin)
        description = {"text": "About.", "source": "test", "language": "en"}
        await client.post(f"/{kind}/{entity_id}/descriptions", json=description, headers=admin)
    ids: dict[EntityType, uuid.UUID] = {
        "track": uuid.UUID(track["id"]),
        "album": uuid.UUID(album["id"]),
        "artist": artist_id,
    }
    answers = {"track": TRACK_ANSWERS, "album": ALBUM_ANSWERS, "artist": ARTIST_ANSWERS}
    async with sessions() as session, session.begin():
        for entity_type, entity_id in ids.items():
            detail = await queries.read_one(session, entity_type, entity_id)
            same(detail, answers[entity_type].detail)
            batch = await queries.read_batch(session, entity_type, [entity_id])
            same(batch.items[0], answers[entity_type].batch_item)
        same((await listing.list_tracks(session)).items[0], TrackRow)
        same((await listing.list_albums(session)).items[0], AlbumRow)
        same((await listing.list_artists(session)).items[0], ArtistRow)
        same((await listing.list_genres(session)).items[0], GenreRow)
        hits = await search(session, "portishead roads")
        assert hits.items
        same(hits, SearchResults)


def same(row: Any, answer: type[Any]) -> None:
    as_read = msgspec.json.decode(msgspec.json.encode(row))
    answered = msgspec.convert(row, answer, from_attributes=True)
    as_answered = msgspec.json.decode(msgspec.json.encode(answered))
    assert as_answered == as_read, answer.__name__
