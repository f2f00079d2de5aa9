"""Smart playlists against real PostgreSQL: every operator over a small library and one
owner's listening, the issue's three examples, sorting and limits, and the HTTP routes
(saved rules, tracks now, .nsp import and export, only the owner's)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from medley_playlists.smart import playlists as smart
from medley_playlists.smart.rules import parse

from .conftest import Client, People, PlaylistsDb, Sessions, add_tracks, assert_problem, track_event
from .test_items_api import new_playlist

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
DAY = timedelta(days=1)

# title: (artist, album, year, seconds, genres)
LIBRARY: dict[str, tuple[str, str | None, int | None, int | None, tuple[str, ...]]] = {
    "Creep": ("Radiohead", "Pablo Honey", 1993, 239, ("Rock", "Alternative")),
    "Paranoid Android": ("Radiohead", "OK Computer", 1997, 387, ("Rock",)),
    "Reckoner": ("Radiohead", "In Rainbows", 2007, 290, ("Alternative",)),
    "Hyperballad": ("Björk", "Post", 1995, 321, ("Electronic",)),
    "Army of Me": ("Björk", "Post", 1995, 234, ("Electronic",)),
    "Jóga": ("Björk", "Homogenic", 1997, 305, ("Electronic",)),
    "Roads": ("Portishead", "Dummy", 1994, 305, ("Trip Hop",)),
    "Glory Box": ("Portishead", "Dummy", 1994, 306, ("Trip Hop",)),
    "Untitled 100%_fun": ("Unknown Artist", None, None, None, ()),
}
ALL = set(LIBRARY)
# The owner's listening: plays (count, days ago) and likes (days ago).
PLAYS = {"Creep": (10, 5), "Paranoid Android": (3, 40), "Hyperballad": (7, 400), "Roads": (1, 2)}
LIKES = {"Hyperballad": 500, "Jóga": 10, "Reckoner": 2}
NEVER_PLAYED = ALL - set(PLAYS)


class Library:
    def __init__(self, ids: dict[str, uuid.UUID], owner: uuid.UUID) -> None:
        self.ids = ids
        self.owner = owner


@pytest.fixture
async def library(sessions: Sessions, fresh: PlaylistsDb, people: People) -> Library:
    tracks = [
        track_event(
            title,
            artist,
            album=album,
            album_year=year,
            duration_ms=seconds * 1000 if seconds else None,
            genres=genres,
            created_at=NOW - timedelta(days=index * 100),
        )
        for index, (title, (artist, album, year, seconds, genres)) in enumerate(LIBRARY.items())
    ]
    ids = dict(zip(LIBRARY, await add_tracks(sessions, *tracks), strict=True))
    owner = people.alice.id
    for title, (count, days) in PLAYS.items():
        await fresh.execute(
            "INSERT INTO plays (user_id, track_id, play_count, last_played_at) "
            "VALUES ($1, $2, $3, $4)",
            owner,
            ids[title],
            count,
            NOW - days * DAY,
        )
    for title, days in LIKES.items():
        await fresh.execute(
            "INSERT INTO likes (user_id, track_id, liked_at) VALUES ($1, $2, $3)",
            owner,
            ids[title],
            NOW - days * DAY,
        )
    # Someone else's listening never counts for the owner.
    await fresh.execute(
        "INSERT INTO plays (user_id, track_id, play_count, last_played_at) VALUES ($1, $2, 99, $3)",
        people.bob.id,
        ids["Glory Box"],
        NOW,
    )
    return Library(ids, owner)


async def titles(sessions: Sessions, library: Library, document: dict[str, Any]) -> list[str]:
    async with sessions() as session, session.begin():
        found = await smart.evaluate(session, parse(document), library.owner, limit=1000, now=NOW)
    return [t["title"] for t in found["items"]]


def day(days_ago: int) -> str:
    return (NOW - days_ago * DAY).date().isoformat()


CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    ("is, any case", {"is": {"artist": "rAdIoHeAd"}}, {"Creep", "Paranoid Android", "Reckoner"}),
    ("is, decomposed", {"is": {"artist": "Bjo\u0308rk"}}, {"Hyperballad", "Army of Me", "Jóga"}),
    ("is a genre", {"is": {"genre": "trip hop"}}, {"Roads", "Glory Box"}),
    ("is a number as text", {"is": {"year": "1994"}}, {"Roads", "Glory Box"}),
    ("is loved", {"is": {"loved": True}}, set(LIKES)),
    ("isNot loved", {"isNot": {"loved": True}}, ALL - set(LIKES)),
    ("isNot", {"isNot": {"album": "Post"}}, ALL - {"Hyperballad", "Army of Me"}),
    ("isNot a genre", {"isNot": {"genre": "Rock"}}, ALL - {"Creep", "Paranoid Android"}),
    (
        "gt seconds",
        {"gt": {"duration": 305}},
        {"Paranoid Android", "Hyperballad", "Glory Box"},
    ),
    ("lt a play count", {"lt": {"playCount": 2}}, NEVER_PLAYED | {"Roads"}),
    ("gt a play count", {"gt": {"playCount": "5"}}, {"Creep", "Hyperballad"}),
    ("contains", {"contains": {"title": "AND"}}, {"Paranoid Android"}),
    ("contains % literally", {"contains": {"title": "100%_"}}, {"Untitled 100%_fun"}),
    ("contains in a genre", {"contains": {"genre": "tron"}}, {"Hyperballad", "Army of Me", "Jóga"}),
    ("notContains", {"notContains": {"album": "o"}}, {"Roads", "Glory Box", "Untitled 100%_fun"}),
    ("startsWith", {"startsWith": {"title": "army"}}, {"Army of Me"}),
    ("endsWith", {"endsWith": {"title": "BOX"}}, {"Glory Box"}),
    (
        "inTheRange",
        {"inTheRange": {"year": [1994, 1995]}},
        {"Roads", "Glory Box", "Hyperballad", "Army of Me"},
    ),
    (
        "inTheRange of seconds",
        {"inTheRange": {"duration": ["300", "306"]}},
        {"Jóga", "Roads", "Glory Box"},
    ),
    ("inTheLast", {"inTheLast": {"lastPlayed": 30}}, {"Creep", "Roads"}),
    ("notInTheLast takes never", {"notInTheLast": {"lastPlayed": 30}}, ALL - {"Creep", "Roads"}),
    ("inTheLast loved", {"inTheLast": {"dateLoved": 30}}, {"Jóga", "Reckoner"}),
    ("before", {"before": {"lastPlayed": day(30)}}, {"Paranoid Android", "Hyperballad"}),
    ("after", {"after": {"lastPlayed": day(30)}}, {"Creep", "Roads"}),
    ("gt a date", {"gt": {"dateLiked": day(11)}}, {"Jóga", "Reckoner"}),
    ("lt a date", {"lt": {"dateLiked": day(11)}}, {"Hyperballad"}),
    ("is a day", {"is": {"lastPlayed": day(5)}}, {"Creep"}),
    ("isNot a day", {"isNot": {"lastPlayed": day(5)}}, ALL - {"Creep"}),
    (
        "inTheRange of dates",
        {"inTheRange": {"lastPlayed": [day(40), day(5)]}},
        {"Creep", "Paranoid Android"},
    ),
    ("dateAdded", {"inTheLast": {"dateAdded": 150}}, {"Creep", "Paranoid Android"}),
    ("isMissing", {"isMissing": {"album": True}}, {"Untitled 100%_fun"}),
    ("isMissing a genre", {"isMissing": {"genre": True}}, {"Untitled 100%_fun"}),
    ("isMissing a play", {"isMissing": {"lastPlayed": True}}, NEVER_PLAYED),
    ("isPresent", {"isPresent": {"duration": True}}, ALL - {"Untitled 100%_fun"}),
]


@pytest.mark.parametrize(("name", "condition", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_each_operator(
    sessions: Sessions, library: Library, name: str, condition: dict[str, Any], expected: set[str]
) -> None:
    found = await titles(sessions, library, {"all": [condition]})
    assert set(found) == expected
    assert len(found) == len(expected)


async def test_in_and_not_in_a_playlist(
    client: Client, people: People, sessions: Sessions, library: Library
) -> None:
    playlist = await new_playlist(client, people.alice)
    await playlist.add([library.ids["Roads"], library.ids["Creep"]])
    inside = {"all": [{"inPlaylist": {"id": playlist.id}}]}
    outside = {"all": [{"notInPlaylist": {"id": playlist.id}}, {"is": {"artist": "Portishead"}}]}
    assert set(await titles(sessions, library, inside)) == {"Roads", "Creep"}
    assert await titles(sessions, library, outside) == ["Glory Box"]


async def test_the_issues_examples(sessions: Sessions, library: Library) -> None:
    most_played_lately = {
        "all": [{"inTheLast": {"lastPlayed": 30}}],
        "sort": "playCount",
        "order": "desc",
        "limit": 50,
    }
    assert await titles(sessions, library, most_played_lately) == ["Creep", "Roads"]
    liked_not_this_year = {
        "all": [{"is": {"loved": True}}, {"notInTheLast": {"lastPlayed": 365}}],
        "sort": "title",
    }
    assert await titles(sessions, library, liked_not_this_year) == [
        "Hyperballad",
        "Jóga",
        "Reckoner",
    ]
    nineties_long = {
        "all": [
            {"any": [{"is": {"artist": "Radiohead"}}, {"is": {"artist": "Björk"}}]},
            {"inTheRange": {"year": [1990, 1999]}},
            {"gt": {"duration": 300}},
        ],
        "sort": "-duration",
    }
    assert await titles(sessions, library, nineties_long) == [
        "Paranoid Android",
        "Hyperballad",
        "Jóga",
    ]


async def test_sort_limit_percent_offset_and_random(sessions: Sessions, library: Library) -> None:
    electronic_or_trip_hop = {
        "any": [{"is": {"genre": "Electronic"}}, {"is": {"genre": "Trip Hop"}}]
    }
    by_year_then_title = {**electronic_or_trip_hop, "sort": "-year,title"}
    assert await titles(sessions, library, by_year_then_title) == [
        "Jóga", "Army of Me", "Hyperballad", "Glory Box", "Roads",
    ]  # fmt: skip
    assert await titles(sessions, library, {**by_year_then_title, "offset": 1, "limit": 2}) == [
        "Army of Me",
        "Hyperballad",
    ]
    # 50% of 5 matches is 3 (rounded up).
    assert await titles(sessions, library, {**by_year_then_title, "limitPercent": 50}) == [
        "Jóga", "Army of Me", "Hyperballad",
    ]  # fmt: skip
    shuffled = await titles(sessions, library, {**electronic_or_trip_hop, "sort": "random"})
    assert sorted(shuffled) == sorted(["Jóga", "Army of Me", "Hyperballad", "Glory Box", "Roads"])
    never_played_first = {
        "all": [{"isPresent": {"title": True}}],
        "sort": "playCount,title",
        "limit": 3,
    }
    assert await titles(sessions, library, never_played_first) == [
        "Army of Me", "Glory Box", "Jóga",
    ]  # fmt: skip


async def test_a_deleted_track_is_never_selected(
    sessions: Sessions, library: Library, fresh: PlaylistsDb
) -> None:
    await fresh.execute("UPDATE tracks SET status = 'deleted' WHERE id = $1", library.ids["Roads"])
    assert await titles(sessions, library, {"all": [{"is": {"artist": "Portishead"}}]}) == [
        "Glory Box"
    ]


# --- over HTTP -------------------------------------------------------------------------------


async def test_saved_rules_evaluate_fresh_on_every_read(
    client: Client, people: People, library: Library, fresh: PlaylistsDb
) -> None:
    created = await client.post(
        "/smart-playlists",
        json={
            "name": "Played lately",
            "rules": {"all": [{"inTheLast": {"lastPlayed": 36500}}], "sort": "-playCount"},
        },
        headers=people.alice.headers,
    )
    assert created.status_code == 201, created.text
    url = f"/smart-playlists/{created.json()['id']}"
    first = await client.get(f"{url}/tracks", headers=people.alice.headers)
    assert [t["title"] for t in first.json()["items"]] == [
        "Creep",
        "Hyperballad",
        "Paranoid Android",
        "Roads",
    ]
    assert first.json()["items"][0]["play_count"] == 10
    await fresh.execute(
        "UPDATE plays SET play_count = 50 WHERE user_id = $1 AND track_id = $2",
        people.alice.id,
        library.ids["Roads"],
    )
    again = await client.get(f"{url}/tracks", params={"limit": 2}, headers=people.alice.headers)
    assert [t["title"] for t in again.json()["items"]] == ["Roads", "Creep"]
    assert again.json()["next_offset"] == 2
    rest = await client.get(f"{url}/tracks", params={"offset": 2}, headers=people.alice.headers)
    assert [t["title"] for t in rest.json()["items"]] == ["Hyperballad", "Paranoid Android"]
    assert rest.json()["next_offset"] is None


async def test_an_invalid_rule_is_a_422_naming_it(
    client: Client, people: People, library: Library
) -> None:
    response = await client.post(
        "/smart-playlists",
        json={
            "name": "x",
            "rules": {"all": [{"is": {"title": "a"}}, {"any": [{"gt": {"mood": 3}}]}]},
        },
        headers=people.alice.headers,
    )
    problem = assert_problem(response, 422)
    assert (problem["rule"], problem["reason"]) == ("all.1.any.0", "unknown field 'mood'")
    # A playlist the owner cannot see is no better than none.
    bobs = await new_playlist(client, people.bob)
    hidden = await client.post(
        "/smart-playlists",
        json={"name": "x", "rules": {"any": [{"inPlaylist": {"id": bobs.id}}]}},
        headers=people.alice.headers,
    )
    assert assert_problem(hidden, 422)["rule"] == "any.0"


async def test_nsp_files_import_and_export(
    client: Client, people: People, library: Library
) -> None:
    document = {
        "name": "Loved, not this year",
        "comment": "from Navidrome",
        "all": [{"is": {"loved": True}}, {"notInTheLast": {"lastPlayed": 365}}],
        "sort": "title",
        "limit": 10,
    }
    imported = await client.post(
        "/smart-playlists/import",
        files={"file": ("loved.nsp", json.dumps(document).encode(), "application/json")},
        headers=people.alice.headers,
    )
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert (body["name"], body["description"]) == ("Loved, not this year", "from Navidrome")
    url = f"/smart-playlists/{body['id']}"
    tracks = await client.get(f"{url}/tracks", headers=people.alice.headers)
    assert [t["title"] for t in tracks.json()["items"]] == ["Hyperballad", "Jóga", "Reckoner"]
    exported = await client.get(f"{url}/export", headers=people.alice.headers)
    assert exported.json() == document
    assert exported.headers["content-disposition"].endswith('.nsp"')
    for content, fragment in (
        (b"{not json", "line 1"),
        (b"\xff\xfe", "UTF-8"),
        (b"[]", "one JSON object"),
        (json.dumps({"all": [{"is": {"rating": 5}}]}).encode(), "unknown field"),
    ):
        bad = await client.post(
            "/smart-playlists/import",
            files={"file": ("x.nsp", content, "application/json")},
            headers=people.alice.headers,
        )
        assert fragment in assert_problem(bad, 422)["detail"]


async def test_smart_playlists_are_their_owners_only(
    client: Client, people: People, library: Library
) -> None:
    created = await client.post(
        "/smart-playlists",
        json={"name": "Mine", "rules": {"all": [{"is": {"loved": True}}]}},
        headers=people.alice.headers,
    )
    url = f"/smart-playlists/{created.json()['id']}"
    for method, path, body in (
        ("GET", url, None),
        ("PATCH", url, {"name": "Bob's"}),
        ("DELETE", url, None),
        ("GET", f"{url}/tracks", None),
        ("GET", f"{url}/export", None),
    ):
        assert_problem(
            await client.request(method, path, json=body, headers=people.bob.headers), 404
        )
    assert (await client.get("/smart-playlists", headers=people.bob.headers)).json()["items"] == []
    renamed = await client.patch(url, json={"name": "Loved"}, headers=people.alice.headers)
    assert renamed.json()["name"] == "Loved"
    assert (await client.delete(url, headers=people.alice.headers)).status_code == 204
    assert_problem(await client.get(url, headers=people.alice.headers), 404)


async def test_a_playlist_turned_private_no_longer_feeds_someone_elses_rules(
    client: Client, people: People, library: Library
) -> None:
    bobs = await new_playlist(client, people.bob, visibility="public")
    await bobs.add([library.ids["Roads"]])
    created = await client.post(
        "/smart-playlists",
        json={"name": "Bob's picks", "rules": {"all": [{"inPlaylist": {"id": bobs.id}}]}},
        headers=people.alice.headers,
    )
    assert created.status_code == 201, created.text
    url = f"/smart-playlists/{created.json()['id']}/tracks"
    before = await client.get(url, headers=people.alice.headers)
    assert [t["title"] for t in before.json()["items"]] == ["Roads"]
    await client.patch(
        f"/playlists/{bobs.id}", json={"visibility": "private"}, headers=people.bob.headers
    )
    after = await client.get(url, headers=people.alice.headers)
    assert after.json()["items"] == []
