"""Imports resolve what the projection does not know through a real catalog's
``POST /internal/resolve`` (served over HTTP, on an event namespace the projection does not
hear): tracks the catalog knows are matched with its method and confidence, unknown ones are
reported unmatched (nothing is created in the catalog), entries go in batches of up to
1,000, and a catalog that cannot be reached is a 503 problem that creates nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from medley_core.catalog_client import CatalogClient, Resolved, candidate
from medley_core.registry import CATALOG_RESOLVE
from medley_core.service_tokens import StaticAuthorization
from medley_core.testing.servers import free_port
from medley_core.testing.tokens import TokenMint, bearer
from medley_playlists.app import create_app
from medley_playlists.settings import PlaylistsSettings

from .conftest import (
    People,
    PlaylistsDb,
    Sessions,
    add_tracks,
    assert_problem,
    catalog_client,
    in_the_catalog,
)
from .conftest import track_event as local_track
from .test_import_export import upload


@pytest.fixture(scope="module")
async def known(catalog_url: str, mint: TokenMint) -> dict[str, uuid.UUID]:
    """Tracks the catalog knows (created by resolving them, as ingestion would)."""
    ids = await in_the_catalog(
        catalog_url,
        mint,
        candidate("Karma Police", "Radiohead", album="OK Computer", duration_ms=264_000),
        candidate("Army of Me", "Björk", album="Post", duration_ms=234_000),
    )
    return {"karma police": ids[0], "army of me": ids[1]}


def settings_for(service_settings: PlaylistsSettings, prefix: str) -> PlaylistsSettings:
    # Its own event namespace (nothing of the catalog's reaches it); no backfill, so what the
    # projection knows is only what the test put there.
    return service_settings.model_copy(
        update={"event_prefix": prefix, "backfill_from_export": False}
    )


@pytest.fixture
async def resolving(
    service_settings: PlaylistsSettings, catalog_url: str, mint: TokenMint
) -> AsyncIterator[tuple[AsyncTestClient[Any], CatalogClient]]:
    """The playlists app with a catalog client (a service token with ``catalog:resolve``)."""
    resolver = catalog_client(catalog_url, mint, CATALOG_RESOLVE)
    settings = settings_for(service_settings, f"{service_settings.event_prefix}_resolving")
    app = create_app(settings, verifier=mint.verifier(), catalog=resolver)
    async with AsyncTestClient(app) as started:
        yield started, resolver


async def test_entries_the_projection_never_heard_of_resolve_through_the_catalog(
    resolving: tuple[AsyncTestClient[Any], CatalogClient],
    known: dict[str, uuid.UUID],
    people: People,
    sessions: Sessions,
    fresh: PlaylistsDb,
    catalog_url: str,
    mint: TokenMint,
) -> None:
    client, resolver = resolving
    [roads] = await add_tracks(sessions, local_track("Roads", "Portishead", duration_ms=305_000))
    calls = resolver.calls
    content = (
        "#EXTM3U\n"
        "#EXTINF:264,Radiohead - Karma Police\n/m/karma.mp3\n"
        "#EXTINF:234,BJÖRK - army of me\n/m/army.mp3\n"
        "#EXTINF:305,Portishead - Roads\n/m/roads.mp3\n"
        "#EXTINF:200,Nobody Known - Nothing At All\n/m/nothing.mp3\n"
    ).encode()
    response = await upload(client, people.alice, content, "Mixed.m3u8")
    assert response.status_code == 201, response.text
    [result] = response.json()["playlists"]
    assert (result["matched"], result["unmatched"], result["skipped"]) == (3, 1, 0)
    karma, army, local, nothing = result["report"]
    assert (karma["status"], karma["track_id"]) == ("matched", str(known["karma police"]))
    assert karma["method"] in ("external_id", "exact", "fuzzy")
    assert isinstance(karma["confidence"], int)
    assert karma["confidence"] >= 80
    assert (army["status"], army["track_id"]) == ("matched", str(known["army of me"]))
    assert army["method"] in ("exact", "fuzzy")
    assert (local["status"], local["method"], local["track_id"]) == ("matched", "local", str(roads))
    assert (nothing["status"], nothing["track_id"]) == ("unmatched", None)
    assert nothing["reason"] == "not in the catalog"
    # The two entries the projection did not know went to the catalog in one call.
    assert resolver.calls == calls + 1

    # The playlist holds the three, in the file's order.
    playlist_id = result["playlist"]["id"]
    items = await client.get(f"/playlists/{playlist_id}/items", headers=people.alice.headers)
    assert [i["track_id"] for i in items.json()["items"]] == [
        str(known["karma police"]),
        str(known["army of me"]),
        str(roads),
    ]

    # Nothing was created in the catalog for the unknown entry: asking again (with a client
    # of the test's own: the app's lives on the app's loop) still finds nothing.
    asking = catalog_client(catalog_url, mint, CATALOG_RESOLVE)
    try:
        (again,) = await asking.resolve(
            [candidate("Nothing At All", "Nobody Known")], "import", create=False
        )
    finally:
        await asking.aclose()
    assert not isinstance(again, Resolved)


async def test_one_call_to_the_catalog_per_thousand_entries(
    resolving: tuple[AsyncTestClient[Any], CatalogClient],
    known: dict[str, uuid.UUID],
    people: People,
    fresh: PlaylistsDb,
) -> None:
    client, resolver = resolving
    lines = ["#EXTM3U"]
    for i in range(1_001):
        lines += [f"#EXTINF:264,Radiohead - Karma Police\n/m/{i}.mp3"]
    calls = resolver.calls
    response = await upload(client, people.bob, "\n".join(lines).encode(), "Long.m3u8")
    assert response.status_code == 201, response.text
    [result] = response.json()["playlists"]
    assert result["matched"] == 1_001
    assert {r["track_id"] for r in result["report"]} == {str(known["karma police"])}
    assert resolver.calls == calls + 2


async def test_a_catalog_that_cannot_be_reached_is_a_503_that_creates_nothing(
    service_settings: PlaylistsSettings, mint: TokenMint, people: People, fresh: PlaylistsDb
) -> None:
    token = mint.service_token("playlists", scopes=[CATALOG_RESOLVE])
    down = CatalogClient(f"http://127.0.0.1:{free_port()}", StaticAuthorization(token))
    settings = settings_for(service_settings, f"{service_settings.event_prefix}_down")
    app = create_app(settings, verifier=mint.verifier(), catalog=down)
    async with AsyncTestClient(app) as client:
        content = b"#EXTM3U\n#EXTINF:264,Radiohead - Karma Police\n/m/karma.mp3\n"
        response = await upload(client, people.alice, content, "Down.m3u8")
        problem = assert_problem(response, 503)
        assert problem["type"].endswith("/catalog-unavailable")
        assert "catalog" in problem["detail"]
        assert "nothing was imported" in problem["detail"]
        mine = await client.get("/playlists", headers=people.alice.headers)
        assert mine.status_code == 200
        assert mine.json()["items"] == []


async def test_the_catalog_refuses_a_resolution_without_its_scope(
    catalog_url: str, mint: TokenMint
) -> None:
    """The scope the registry gives the playlists client is the one the route asks for."""
    async with httpx.AsyncClient(base_url=catalog_url) as http:
        body = {"candidates": [{"title": "X", "artist": "Y"}], "create": False}
        without = bearer(mint.service_token("playlists", scopes=[]))
        response = await http.post("/internal/resolve", json=body, headers=without)
        assert response.status_code == 403
