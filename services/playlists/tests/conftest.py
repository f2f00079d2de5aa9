"""Fixtures for the playlists service's tests.

Pure tests (order keys, rules, file formats) need none of these. Domain tests get a
database of this run's own, provisioned like production (the playlists role, its schema,
the Alembic history), and sessions as the service opens them. HTTP tests run the real app
in-process (``AsyncTestClient(create_app(...))``) with a token verifier over a key made
here, so they can act as any user: ``people.alice`` and ``people.bob`` are two users with
their own tokens, registered in the projection of users under their names.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts import catalog
from medley_core.ids import new_id
from medley_core.testing.problems import assert_problem
from medley_core.testing.tokens import TokenMint, bearer
from medley_local.pytest_plugin import ServiceDb, service_fixtures
from medley_playlists import collaboration, projection
from medley_playlists.app import create_app
from medley_playlists.settings import PlaylistsSettings

# Every table the tests may fill; emptied before each test that asks for a fresh service.
TABLES = (
    "items, collaborators, external_mappings, playlists, smart_playlists, collection_entries, "
    "tracks, albums, artists, members, plays, listen_batches, likes, outbox, inbox"
)


PlaylistsDb = ServiceDb
Sessions = async_sessionmaker[AsyncSession]

service_infra, service_db, service_settings, sessions, fresh, scratch = service_fixtures(
    "playlists", PlaylistsSettings, tables=TABLES
)


# --- people ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Person:
    id: uuid.UUID
    username: str
    headers: dict[str, str]


class People:
    """Users the tests act as: each has an id, a username and request headers."""

    def __init__(self, mint: TokenMint) -> None:
        self.mint = mint
        self.known: dict[str, Person] = {}

    def __getattr__(self, name: str) -> Person:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self.known:
            user_id = uuid.uuid4()
            self.known[name] = Person(user_id, name, bearer(self.mint.user_token(user_id)))
        return self.known[name]

    def service(self) -> dict[str, str]:
        return bearer(self.mint.service_token("gateway"))


@pytest.fixture(scope="session")
def mint() -> TokenMint:
    return TokenMint()


@pytest.fixture
async def people(mint: TokenMint, fresh: PlaylistsDb, sessions: Sessions) -> People:
    """Alice, Bob, Carol… registered in the projection of users as they are first named."""
    found = People(mint)
    for name in ("alice", "bob", "carol"):
        person = getattr(found, name)
        async with sessions() as session, session.begin():
            await collaboration.member_registered(
                session, person.id, person.username, datetime.now(UTC)
            )
    return found


@pytest.fixture(scope="session")
async def client(
    service_settings: PlaylistsSettings, mint: TokenMint
) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(service_settings, verifier=mint.verifier())
    async with AsyncTestClient(app) as started:
        yield started


Client = AsyncTestClient[Any]
__all__ = ["Client", "PlaylistsDb", "Sessions", "assert_problem"]


# --- the catalog, as its events describe it ------------------------------------------------


def track_event(
    title: str,
    artist: str = "Radiohead",
    *,
    track_id: uuid.UUID | None = None,
    duration_ms: int | None = 240_000,
    album: str | None = None,
    album_year: int | None = None,
    genres: tuple[str, ...] = (),
    updated_at: datetime | None = None,
    created_at: datetime | None = None,
) -> catalog.TrackV1:
    """A ``catalog.track.created|updated`` payload."""
    return catalog.TrackV1(
        track_id=track_id or new_id(),
        title=title,
        artist_names=artist,
        credits=[
            catalog.ArtistCreditV1(artist_id=uuid.uuid5(uuid.NAMESPACE_URL, artist), name=artist)
        ],
        album_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{artist}/{album}") if album else None,
        album_title=album,
        album_year=album_year,
        duration_ms=duration_ms,
        genres=list(genres),
        created_at=created_at,
        updated_at=updated_at or datetime.now(UTC),
    )


async def add_tracks(sessions: Sessions, *tracks: catalog.TrackV1) -> list[uuid.UUID]:
    """Feed the projection, as the catalog's events would; the tracks' ids."""
    async with sessions() as session, session.begin():
        for track in tracks:
            await projection.track_changed(session, track)
    return [t.track_id for t in tracks]


async def some_tracks(
    sessions: Sessions, count: int, duration_ms: int = 200_000
) -> list[uuid.UUID]:
    return await add_tracks(
        sessions, *(track_event(f"Song {i}", duration_ms=duration_ms) for i in range(count))
    )
