"""The catalog's HTTP API as its clients see it: the real app, in-process, real PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from .conftest import CatalogDb, Headers, assert_problem

Client = AsyncTestClient[Any]


async def make_artist(client: Client, auth: Headers, name: str, **extra: Any) -> dict[str, Any]:
    response = await client.post("/artists", json={"name": name, **extra}, headers=auth("admin"))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def make_album(
    client: Client, auth: Headers, title: str, artist: str, **extra: Any
) -> dict[str, Any]:
    body = {"title": title, "credits": [{"name": artist}], **extra}
    response = await client.post("/albums", json=body, headers=auth("admin"))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def make_track(
    client: Client, auth: Headers, title: str, artist: str, **extra: Any
) -> dict[str, Any]:
    body = {"title": title, "credits": [{"name": artist}], **extra}
    response = await client.post("/tracks", json=body, headers=auth("admin"))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_writes_need_an_admin_or_a_service(
    fresh: CatalogDb, client: Client, auth: Headers
) -> None:
    body = {"name": "Portishead"}
    assert_problem(await client.post("/artists", json=body), 401)
    assert_problem(await client.post("/artists", json=body, headers=auth("user")), 403)
    assert (await client.post("/artists", json=body, headers=auth("service"))).status_code == 201
    assert (
        await client.post("/artists", json={"name": "Tricky"}, headers=auth("admin"))
    ).status_code == 201
    # Reads are public.
    listed = await client.get("/artists")
    assert listed.status_code == 200
    assert [a["name"] for a in listed.json()["items"]] == ["Portishead", "Tricky"]


async def test_a_track_is_created_read_updated_and_deleted(
    fresh: CatalogDb, client: Client, auth: Headers
) -> None:
    album = await make_album(
        client, auth, "Dummy", "Portishead", release_date="1994-08-22", album_type="album"
    )
    assert album["release_year"] == 1994
    track = await make_track(
        client,
        auth,
        "Glory Box",
        "Portishead",
        album_id=album["id"],
        disc_number=1,
        track_number=11,
        duration_ms=306_000,
        external_ids=[{"namespace": "isrc", "value": "gb-aak-94-00011"}],
        genres=["Trip Hop"],
    )
    assert track["title"] == "Glory Box"
    assert track["album"]["title"] == "Dummy"
    assert track["external_ids"] == [{"namespace": "isrc", "value": "GBAAK9400011"}]
    assert [g["slug"] for g in track["genres"]] == ["trip-hop"]
    assert track["credits"][0]["name"] == "Portishead"

    got = await client.get(f"/tracks/{track['id']}")
    assert got.status_code == 200
    assert got.json()["id"] == track["id"]

    patched = await client.patch(
        f"/tracks/{track['id']}",
        json={"duration_ms": 307_000, "explicit": True},
        headers=auth("admin"),
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["duration_ms"], patched.json()["explicit"], patched.json()["title"]) == (
        307_000,
        True,
        "Glory Box",
    )

    album_detail = (await client.get(f"/albums/{album['id']}")).json()
    assert [t["title"] for t in album_detail["tracks"]] == ["Glory Box"]
    assert album_detail["track_count"] == 1

    deleted = await client.delete(f"/tracks/{track['id']}", headers=auth("admin"))
    assert deleted.status_code == 204
    assert_problem(await client.get(f"/tracks/{track['id']}"), 404)
    assert_problem(await client.delete(f"/tracks/{track['id']}", headers=auth("admin")), 404)
    restored = await client.post(f"/tracks/{track['id']}/restore", headers=auth("admin"))
    assert restored.status_code == 200
    assert (await client.get(f"/tracks/{track['id']}")).status_code == 200


async def test_unknown_ids_are_404_and_malformed_input_422(
    fresh: CatalogDb, client: Client, auth: Headers
) -> None:
    assert_problem(await client.get(f"/tracks/{uuid.uuid4()}"), 404)
    assert_problem(await client.get(f"/albums/{uuid.uuid4()}"), 404)
    assert_problem(await client.get(f"/artists/{uuid.uuid4()}"), 404)
    for path in ("/tracks/not-a-uuid", "/albums/123", "/artists/zzz"):
        assert_problem(await client.get(path), 422)
    assert_problem(
        await client.post(
            "/tracks/nope/merge", json={"into": str(uuid.uuid4())}, headers=auth("admin")
        ),
        422,
    )
    assert_problem(await client.delete("/albums/nope", headers=auth("admin")), 422)
    admin = auth("admin")
    bad_bodies = [
        {"title": "x", "credits": [{"name": "y"}], "duration_ms": 0},
        {"title": "x", "credits": [{"name": "y"}], "duration_ms": -5},
        {
            "title": "x",
            "credits": [{"name": "y"}],
            "external_ids": [{"namespace": "isrc", "value": "nope"}],
        },
        {
            "title": "x",
            "credits": [{"name": "y"}],
            "external_ids": [{"namespace": "myspace", "value": "1"}],
        },
        {"title": "", "credits": [{"name": "y"}]},
        {"title": "x", "credits": []},
        {"title": "x\u0000y", "credits": [{"name": "y"}]},
        {"title": "x", "credits": [{"artist_id": "nope"}]},
    ]
    for body in bad_bodies:
        response = await client.post("/tracks", json=body, headers=admin)
        assert_problem(response, 422)
    unknown_artist = await client.post(
        "/tracks", json={"title": "x", "credits": [{"artist_id": str(uuid.uuid4())}]}, headers=admin
    )
    assert_problem(unknown_artist, 422)
    assert_problem(
        await client.get("/tracks/lookup", params={"namespace": "isrc", "value": "123"}), 422
    )
    assert_problem(await client.get("/tracks", params={"cursor": "garbage"}), 422)
    assert (await client.get("/tracks", params={"limit": 5000})).status_code in (400, 422)
    assert await fresh.fetchval("SELECT count(*) FROM tracks") == 0


async def test_the_api_document_says_ids_are_uuids(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    for path in ("/tracks/{entity_id}", "/albums/{entity_id}/merge", "/artists/{entity_id}"):
        operation = next(iter(document["paths"][path].values()))
        (entity_id,) = [p for p in operation["parameters"] if p["name"] == "entity_id"]
        assert (entity_id["schema"]["type"], entity_id["schema"]["format"]) == ("string", "uuid")


async def test_lookup_by_external_id(fresh: CatalogDb, client: Client, auth: Headers) -> None:
    track = await make_track(
        client,
        auth,
        "Roads",
        "Portishead",
        external_ids=[{"namespace": "spotify", "value": "4fEyx6MBeEh6JcqRm3XT8o"}],
    )
    found = await client.get(
        "/tracks/lookup", params={"namespace": "spotify", "value": "4fEyx6MBeEh6JcqRm3XT8o"}
    )
    assert found.status_code == 200
    assert found.json()["id"] == track["id"]
    assert_problem(
        await client.get(
            "/tracks/lookup", params={"namespace": "spotify", "value": "0000000000000000000000"}
        ),
        404,
    )
    taken = await client.post(
        f"/tracks/{(await make_track(client, auth, 'Other', 'Portishead'))['id']}/external-ids",
        json={"namespace": "spotify", "value": "4fEyx6MBeEh6JcqRm3XT8o"},
        headers=auth("admin"),
    )
    assert assert_problem(taken, 409)["holder"] == track["id"]


async def test_album_lists_are_keyset_pages_with_filters(
    fresh: CatalogDb, client: Client, auth: Headers
) -> None:
    artist = await make_artist(client, auth, "Radiohead")
    other = await make_artist(client, auth, "Muse")
    titles = [
        "Pablo Honey",
        "The Bends",
        "OK Computer",
        "Kid A",
        "Amnesiac",
        "Hail to the Thief",
        "In Rainbows",
    ]
    years = [1993, 1995, 1997, 2000, 2001, 2003, 2007]
    for title, year in zip(titles, years, strict=True):
        await make_album(
            client, auth, title, "Radiohead", release_year=year, genres=["Alternative Rock"]
        )
    await make_album(
        client, auth, "Origin of Symmetry", "Muse", release_year=2001, album_type="album"
    )
    await make_album(client, auth, "Plug In Baby", "Muse", release_year=2001, album_type="single")

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, "artist": artist["id"]}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/albums", params=params)).json()
        seen.extend(a["title"] for a in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(titles, key=str.lower)

    by_year = (await client.get("/albums", params={"year": 2001})).json()["items"]
    assert sorted(a["title"] for a in by_year) == ["Amnesiac", "Origin of Symmetry", "Plug In Baby"]
    singles = (await client.get("/albums", params={"type": "single"})).json()["items"]
    assert [a["title"] for a in singles] == ["Plug In Baby"]
    genre = (
        await client.get("/albums", params={"genre": "alternative-rock", "limit": 100})
    ).json()["items"]
    assert len(genre) == 7
    assert (await client.get("/albums", params={"genre": "polka"})).json()["items"] == []
    muse = (await client.get("/albums", params={"artist": other["id"]})).json()["items"]
    assert len(muse) == 2

    artists = (await client.get("/artists")).json()["items"]
    assert {a["name"]: (a["album_count"], a["track_count"]) for a in artists} == {
        "Muse": (2, 0),
        "Radiohead": (7, 0),
    }
    genres = (await client.get("/genres")).json()["items"]
    assert [(g["slug"], g["album_count"]) for g in genres] == [("alternative-rock", 7)]


async def test_a_cursor_serves_only_its_own_listing_and_sort(
    fresh: CatalogDb, client: Client, auth: Headers
) -> None:
    for title in ("One", "Two", "Three"):
        await make_album(client, auth, title, "Band")
    first = (await client.get("/albums", params={"limit": 1})).json()
    cursor = first["next_cursor"]
    second = (await client.get("/albums", params={"limit": 1, "cursor": cursor})).json()
    assert [a["title"] for a in first["items"] + second["items"]] == ["One", "Three"]
    edited = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    for params in (
        {"cursor": cursor, "sort": "created"},  # another sort of the same listing
        {"cursor": edited},  # one character changed
        {"cursor": cursor[:-4]},  # cut short
    ):
        body = assert_problem(await client.get("/albums", params=params), 422)
        assert body["field"] == "cursor", params
    for path in ("/tracks", "/artists", "/genres"):  # another listing
        assert assert_problem(await client.get(path, params={"cursor": cursor}), 422)["field"] == (
            "cursor"
        )


async def test_batch_get_follows_redirects_and_names_the_missing(
    fresh: CatalogDb, client: Client, auth: Headers
) -> None:
    a = await make_track(client, auth, "Teardrop", "Massive Attack")
    b = await make_track(client, auth, "Teardrop (dup)", "Massive Attack")
    c = await make_track(client, auth, "Angel", "Massive Attack")
    merged = await client.post(
        f"/tracks/{b['id']}/merge", json={"into": a["id"]}, headers=auth("admin")
    )
    assert merged.status_code == 200, merged.text
    unknown = str(uuid.uuid4())
    response = await client.post(
        "/tracks/batch", json={"ids": [c["id"], b["id"], a["id"], unknown]}
    )
    assert response.status_code == 200
    body = response.json()
    assert [t["id"] for t in body["items"]] == [c["id"], a["id"]]
    assert body["redirects"] == {b["id"]: a["id"]}
    assert body["missing"] == [unknown]
    too_many = await client.post(
        "/tracks/batch", json={"ids": [str(uuid.uuid4()) for _ in range(1001)]}
    )
    assert "1000" in assert_problem(too_many, 413)["detail"]


async def test_genres_are_tagged_and_listed(
    fresh: CatalogDb, client: Client, auth: Headers
) -> None:
    track = await make_track(client, auth, "Windowlicker", "Aphex Twin")
    tagged = await client.put(
        f"/tracks/{track['id']}/genres",
        json={"genres": ["IDM", "Electronic"]},
        headers=auth("service"),
    )
    assert tagged.status_code == 200
    assert [g["name"] for g in tagged.json()["genres"]] == ["Electronic", "IDM"]
    retagged = await client.put(
        f"/tracks/{track['id']}/genres", json={"genres": ["idm"]}, headers=auth("admin")
    )
    assert [g["slug"] for g in retagged.json()["genres"]] == ["idm"]
    listed = (await client.get("/tracks", params={"genre": "idm"})).json()["items"]
    assert [t["id"] for t in listed] == [track["id"]]
    assert_problem(
        await client.put(
            f"/tracks/{track['id']}/genres", json={"genres": ["x"]}, headers=auth("user")
        ),
        403,
    )


async def test_images_and_descriptions(fresh: CatalogDb, client: Client, auth: Headers) -> None:
    artist = await make_artist(client, auth, "Björk")
    image = await client.post(
        f"/artists/{artist['id']}/images",
        json={
            "url": "https://img.example/bjork.jpg",
            "width": 600,
            "height": 600,
            "source": "lastfm",
        },
        headers=auth("admin"),
    )
    assert image.status_code == 200, image.text
    described = await client.post(
        f"/artists/{artist['id']}/descriptions",
        json={"text": "Icelandic singer.", "source": "wikipedia", "language": "en"},
        headers=auth("admin"),
    )
    assert described.status_code == 200
    again = await client.post(
        f"/artists/{artist['id']}/descriptions",
        json={"text": "Icelandic singer and composer.", "source": "wikipedia", "language": "en"},
        headers=auth("admin"),
    )
    detail = again.json()
    assert [i["url"] for i in detail["images"]] == ["https://img.example/bjork.jpg"]
    assert [(d["text"], d["language"]) for d in detail["descriptions"]] == [
        ("Icelandic singer and composer.", "en")
    ]
    assert_problem(
        await client.post(
            f"/artists/{artist['id']}/descriptions",
            json={"text": "x", "source": "s", "language": "English"},
            headers=auth("admin"),
        ),
        422,
    )


async def test_a_service_without_the_catalog_scopes_can_neither_write_nor_resolve(
    fresh: CatalogDb, client: Client, auth: Headers
) -> None:
    unscoped = auth("unscoped service")
    write = await client.post("/artists", json={"name": "Massive Attack"}, headers=unscoped)
    assert "catalog:write" in assert_problem(write, 403)["detail"]
    body = {"source": "spotify", "candidates": [{"title": "Teardrop", "artist": "Massive Attack"}]}
    resolve = await client.post("/internal/resolve", json=body, headers=unscoped)
    assert "catalog:resolve" in assert_problem(resolve, 403)["detail"]
    assert (await client.get("/artists")).json()["items"] == []


async def test_resolution_over_http_is_for_services(
    fresh: CatalogDb, client: Client, auth: Headers
) -> None:
    body = {
        "source": "spotify",
        "candidates": [
            {"title": "Idioteque", "artist": "Radiohead", "album": "Kid A", "duration_ms": 309_000},
            {"title": "Idioteque", "artists": [{"name": "Radiohead"}], "isrc": "GBAYE0000351"},
        ],
    }
    assert_problem(await client.post("/internal/resolve", json=body), 401)
    assert_problem(await client.post("/internal/resolve", json=body, headers=auth("admin")), 403)
    response = await client.post("/internal/resolve", json=body, headers=auth("service"))
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["index"] for r in results] == [0, 1]
    assert results[0]["track_id"] == results[1]["track_id"]
    assert results[0]["created"] is True
    assert {r["method"] for r in results} == {"created"}
    again = (await client.post("/internal/resolve", json=body, headers=auth("service"))).json()
    assert [r["method"] for r in again["results"]] == ["exact", "external_id"]
    assert again["methods"] == {"exact": 1, "external_id": 1}
    track = (await client.get(f"/tracks/{results[0]['track_id']}")).json()
    assert track["album"]["title"] == "Kid A"


async def test_resolution_refuses_bad_batches(
    fresh: CatalogDb, client: Client, auth: Headers
) -> None:
    service = auth("service")
    one = {"title": "x", "artist": "y"}
    too_many = await client.post(
        "/internal/resolve", json={"candidates": [one] * 1001}, headers=service
    )
    assert "1000" in assert_problem(too_many, 413)["detail"]
    for bad in (
        {"title": "x", "artist": "y", "isrc": "ABC"},
        {"title": "x", "artist": "y", "duration_ms": 0},
        {"title": "x", "artist": "y", "spotify_id": "nope"},
        {"title": "x"},
        {"title": "", "artist": "y"},
        {"title": "x", "artist": "y", "album_year": 0},
    ):
        response = await client.post(
            "/internal/resolve", json={"candidates": [one, bad]}, headers=service
        )
        assert_problem(response, 422)
    assert await fresh.fetchval("SELECT count(*) FROM tracks") == 0


async def test_odd_requests_never_answer_500(
    fresh: CatalogDb, client: Client, auth: Headers
) -> None:
    track = await make_track(client, auth, "Song", "Band")
    admin = auth("admin")
    attempts = [
        ("GET", "/tracks", {"params": {"sort": "loudness"}}),
        ("GET", "/tracks", {"params": {"cursor": "W1widHJhY2tzOnRpdGxlIiwgWzEsIDJdXQ"}}),
        ("GET", "/albums", {"params": {"year": "1990s"}}),
        ("GET", "/artists", {"params": {"limit": "-1"}}),
        ("GET", "/search", {"params": {"q": "a" * 500}}),
        ("GET", "/search", {"params": {"q": "ガガ 'quote' \\ back"}}),
        ("GET", "/search", {"params": {"q": "x", "year": "99999"}}),
        ("GET", "/tracks/lookup", {"params": {"namespace": "myspace", "value": "1"}}),
        ("POST", "/tracks/batch", {"json": {"ids": ["nope"]}}),
        ("POST", "/tracks/batch", {"json": {"ids": "nope"}}),
        (
            "POST",
            "/tracks/batch",
            {"content": b"\xff\xfe", "headers": {"content-type": "application/json"}},
        ),
        ("PATCH", f"/tracks/{track['id']}", {"json": {"title": None}, "headers": admin}),
        (
            "PATCH",
            f"/tracks/{track['id']}",
            {"json": {"album_id": str(uuid.uuid4())}, "headers": admin},
        ),
        ("PATCH", f"/tracks/{track['id']}", {"json": {"unknown": 1}, "headers": admin}),
        (
            "POST",
            "/albums",
            {
                "json": {
                    "title": "x",
                    "credits": [{"name": "y"}],
                    "release_date": "1999-01-01",
                    "release_year": 2000,
                },
                "headers": admin,
            },
        ),
        (
            "POST",
            "/albums",
            {
                "json": {"title": "x", "credits": [{"name": "y"}], "album_type": "mixtape"},
                "headers": admin,
            },
        ),
        ("POST", f"/tracks/{track['id']}/images", {"json": {"url": "ftp://x"}, "headers": admin}),
        ("POST", f"/tracks/{track['id']}/merge", {"json": {"into": "nope"}, "headers": admin}),
        ("DELETE", f"/tracks/{track['id']}/external-ids/isrc/nope", {"headers": admin}),
        ("DELETE", f"/tracks/{track['id']}/external-ids/myspace/1", {"headers": admin}),
        ("POST", "/genres", {"json": {"name": "!!!"}, "headers": admin}),
    ]
    for method, path, kwargs in attempts:
        response = await client.request(method, path, **kwargs)
        assert response.status_code < 500, (
            method,
            path,
            response.status_code,
            response.text,
        )
