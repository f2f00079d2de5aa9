"""The projection backfills from a real catalog's export (``GET /internal/tracks``, served
over HTTP) when the playlists service starts on a catalog whose stream no longer holds
everything, or when its projection is empty while the catalog is not; once done, a restart
does not do it again. The export itself: behind its scope, keyset pages, a malformed cursor
is a 422."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import nats
import pytest
from litestar.testing import AsyncTestClient

from medley_contracts.envelope import stream_name
from medley_core.catalog_client import candidate
from medley_core.registry import CATALOG_EXPORT, CATALOG_RESOLVE
from medley_core.testing.tokens import TokenMint, bearer
from medley_playlists.app import create_app
from medley_playlists.settings import PlaylistsSettings

from .conftest import People, PlaylistsDb, assert_problem, catalog_client, in_the_catalog


@pytest.fixture(scope="module")
async def catalog_tracks(catalog_url: str, mint: TokenMint) -> dict[str, uuid.UUID]:
    """Three tracks in the catalog, the last one deleted there."""
    ids = await in_the_catalog(
        catalog_url,
        mint,
        candidate("Teardrop", "Massive Attack", album="Mezzanine", duration_ms=329_000),
        candidate("Angel", "Massive Attack", album="Mezzanine", duration_ms=379_000),
        candidate("Unfinished", "Sympathy Band", duration_ms=200_000),
    )
    async with httpx.AsyncClient(base_url=catalog_url) as http:
        deleted = await http.delete(f"/tracks/{ids[2]}", headers=bearer(mint.admin_token()))
        assert deleted.status_code == 204, deleted.text
    return {"teardrop": ids[0], "angel": ids[1], "deleted": ids[2]}


async def exported(catalog_url: str, mint: TokenMint, limit: int) -> list[dict[str, Any]]:
    token = bearer(mint.service_token("playlists", scopes=[CATALOG_EXPORT]))
    found: list[dict[str, Any]] = []
    after: str | None = None
    async with httpx.AsyncClient(base_url=catalog_url) as http:
        while True:
            params: dict[str, Any] = {"limit": limit, **({"after": after} if after else {})}
            page = await http.get("/internal/tracks", params=params, headers=token)
            assert page.status_code == 200, page.text
            found += page.json()["items"]
            after = page.json()["next_cursor"]
            if after is None:
                return found


async def purge_stream(nats_url: str, prefix: str) -> None:
    """The catalog's stream loses everything it held (its limits discarded them)."""
    connection = await nats.connect(nats_url)
    try:
        await connection.jetstream().purge_stream(stream_name("catalog", prefix))
        info = await connection.jetstream().stream_info(stream_name("catalog", prefix))
        assert info.state.first_seq > 1
    finally:
        await connection.close()


async def backfills(db: PlaylistsDb) -> list[dict[str, Any]]:
    rows = await db.fetch("SELECT reason, tracks, completed_at FROM catalog_backfills")
    return [dict(r) for r in rows]


async def finished_backfills(db: PlaylistsDb, timeout_s: float = 60) -> list[dict[str, Any]]:
    async with asyncio.timeout(timeout_s):
        while True:
            rows = await backfills(db)
            if rows and all(r["completed_at"] is not None for r in rows):
                return rows
            await asyncio.sleep(0.1)


@pytest.fixture
def started(service_settings: PlaylistsSettings, catalog_url: str, mint: TokenMint) -> Any:
    """Start the playlists app reading the catalog stream of ``prefix``, with a client of
    the catalog holding both of its scopes."""

    def start(prefix: str) -> AsyncTestClient[Any]:
        settings = service_settings.model_copy(update={"event_prefix": prefix})
        app = create_app(
            settings, verifier=mint.verifier(), catalog=catalog_client(catalog_url, mint)
        )
        return AsyncTestClient(app)

    return start


async def test_a_stream_that_lost_its_start_is_backfilled_from_the_export(
    started: Any,
    catalog_tracks: dict[str, uuid.UUID],
    catalog_prefix: str,
    service_infra: Any,
    catalog_url: str,
    mint: TokenMint,
    people: People,
    fresh: PlaylistsDb,
) -> None:
    await purge_stream(service_infra.nats_url, catalog_prefix)
    everything = await exported(catalog_url, mint, 1000)
    async with started(catalog_prefix) as client:
        [run] = await finished_backfills(fresh)
        assert run["reason"].startswith("the catalog's stream starts at sequence")
        assert run["tracks"] == len(everything)

        # The projection knows the catalog's tracks: they can be added, with their details.
        created = await client.post(
            "/playlists", json={"name": "Bristol"}, headers=people.alice.headers
        )
        playlist_id = created.json()["id"]
        added = await client.post(
            f"/playlists/{playlist_id}/items",
            json={"track_ids": [str(catalog_tracks["teardrop"]), str(catalog_tracks["angel"])]},
            headers=people.alice.headers,
        )
        assert added.status_code == 201, added.text
        items = await client.get(f"/playlists/{playlist_id}/items", headers=people.alice.headers)
        shown = [(i["track"]["title"], i["track"]["album_title"]) for i in items.json()["items"]]
        assert shown == [("Teardrop", "Mezzanine"), ("Angel", "Mezzanine")]
        assert [i["track"]["duration_ms"] for i in items.json()["items"]] == [329_000, 379_000]

        # A track deleted in the catalog is known as deleted: it cannot be added.
        refused = await client.post(
            f"/playlists/{playlist_id}/items",
            json={"track_ids": [str(catalog_tracks["deleted"])]},
            headers=people.alice.headers,
        )
        assert_problem(refused, 422)

    # Started again on the same stream, it does not backfill again.
    async with started(catalog_prefix):
        await asyncio.sleep(1.0)
        assert len(await backfills(fresh)) == 1


async def test_an_empty_projection_of_a_catalog_that_is_not_is_backfilled(
    started: Any,
    catalog_tracks: dict[str, uuid.UUID],
    catalog_prefix: str,
    catalog_url: str,
    mint: TokenMint,
    fresh: PlaylistsDb,
) -> None:
    everything = await exported(catalog_url, mint, 1000)
    # A namespace whose catalog stream does not exist (nothing to replay).
    async with started(f"{catalog_prefix}_elsewhere"):
        [run] = await finished_backfills(fresh)
        assert run["reason"] == "the projection is empty and the catalog is not"
        assert run["tracks"] == len(everything)
        rows = await fresh.fetch(
            "SELECT id, status FROM tracks WHERE id = ANY($1::uuid[])",
            list(catalog_tracks.values()),
        )
        assert {r["id"]: r["status"] for r in rows} == {
            catalog_tracks["teardrop"]: "active",
            catalog_tracks["angel"]: "active",
            catalog_tracks["deleted"]: "deleted",
        }


async def test_the_export_pages_by_id_behind_its_scope(
    catalog_tracks: dict[str, uuid.UUID], catalog_url: str, mint: TokenMint
) -> None:
    one_by_one = await exported(catalog_url, mint, 1)
    assert [t["id"] for t in one_by_one] == sorted(t["id"] for t in one_by_one)
    assert one_by_one == await exported(catalog_url, mint, 1000)
    teardrop = next(t for t in one_by_one if t["id"] == str(catalog_tracks["teardrop"]))
    assert teardrop["title"] == "Teardrop"
    assert teardrop["artist_names"] == "Massive Attack"
    assert teardrop["album_title"] == "Mezzanine"
    assert teardrop["status"] == "active"
    async with httpx.AsyncClient(base_url=catalog_url) as http:
        resolve_only = bearer(mint.service_token("playlists", scopes=[CATALOG_RESOLVE]))
        assert (await http.get("/internal/tracks", headers=resolve_only)).status_code == 403
        assert (await http.get("/internal/tracks")).status_code == 401
        export = bearer(mint.service_token("playlists", scopes=[CATALOG_EXPORT]))
        malformed = await http.get("/internal/tracks", params={"after": "x"}, headers=export)
        assert malformed.status_code == 422
        assert malformed.json()["field"] == "after"
