"""Fixtures for the playlists service's tests.

Pure tests (order keys, rules, file formats) need none of these. Domain tests get a
database of this run's own, provisioned like production (the playlists role, its schema,
the Alembic history), and sessions as the service opens them. HTTP tests run the real app
in-process (``AsyncTestClient(create_app(...))``) with a token verifier over a key made
here, so they can act as any user: ``people.alice`` and ``people.bob`` are two users with
their own tokens, registered in the projection of users under their names.

Imports that resolve through the catalog, and backfills from its export, run against a
**real catalog**: the catalog app served over HTTP (``catalog_url``), in a database of its
own, publishing under an event namespace of its own, so the projection of the playlists app
under test hears nothing of it unless a test says so.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_catalog.app import create_app as create_catalog_app
from medley_catalog.settings import CatalogSettings
from medley_contracts import catalog
from medley_core.catalog_client import CatalogClient, Resolved
from medley_core.ids import new_id
from medley_core.registry import CATALOG_EXPORT, CATALOG_RESOLVE
from medley_core.service_tokens import StaticAuthorization
from medley_core.testing.problems import assert_problem
from medley_core.testing.servers import served_in_thread
from medley_core.testing.tokens import TokenMint, bearer
from medley_local import pytest_plugin
from medley_local.pytest_plugin import ServiceDb, service_fixtures
from medley_local.services import service
from medley_playlists import collaboration, projection
from medley_playlists.app import create_app
from medley_playlists.settings import PlaylistsSettings

# Every table the tests may fill; emptied before each test that asks for a fresh service.
TABLES = (
    "items, collaborators, external_mappings, playlists, smart_playlists, collection_entries, "
    "tracks, albums, artists, members, plays, listen_batches, likes, catalog_backfills, outbox, "
    "inbox"
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


# --- a real catalog, over HTTP ---------------------------------------------------------------


@pytest.fixture(scope="session")
def catalog_prefix(service_infra: Any) -> str:
    """The event namespace the catalog under test publishes in."""
    return f"{service_infra.event_prefix}_catalog"


@pytest.fixture(scope="session")
async def catalog_db(service_infra: Any) -> AsyncIterator[ServiceDb]:
    # A role of its own: the catalog's own tests may provision theirs in the same session.
    suffix = f"_for_playlists_test{getattr(service_infra, 'role_suffix', '')}"
    spec = service("catalog")
    database = spec.database(password=spec.role_name(suffix), role_suffix=suffix)
    async with pytest_plugin.service_db(service_infra.admin_url, database) as db:
        yield db


@pytest.fixture(scope="session")
def catalog_url(
    service_infra: Any, catalog_db: ServiceDb, catalog_prefix: str, mint: TokenMint
) -> Iterator[str]:
    settings = pytest_plugin.settings_for_tests(
        CatalogSettings,
        service_infra,
        catalog_db,
        event_prefix=catalog_prefix,
        relay_poll_interval_s=0.2,
    )
    app = create_catalog_app(settings, verifier=mint.verifier())
    with served_in_thread(app, name="catalog") as url:
        yield url


def catalog_client(url: str, mint: TokenMint, *scopes: str) -> CatalogClient:
    """A client of the catalog holding a playlists service token with ``scopes`` (both
    internal ones when none are named)."""
    token = mint.service_token("playlists", scopes=scopes or (CATALOG_RESOLVE, CATALOG_EXPORT))
    return CatalogClient(url, StaticAuthorization(token))


async def in_the_catalog(
    url: str, mint: TokenMint, *tracks: dict[str, Any] | str
) -> list[uuid.UUID]:
    """Tracks the catalog knows from now on (created by resolving them, as ingestion does):
    their ids."""
    client = catalog_client(url, mint, CATALOG_RESOLVE)
    try:
        results = await client.resolve(tracks, "test")
    finally:
        await client.aclose()
    ids = [r.track_id for r in results if isinstance(r, Resolved)]
    assert len(ids) == len(tracks)
    return ids
