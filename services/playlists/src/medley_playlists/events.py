"""What the playlists context publishes, and how it reacts to other contexts' events.

Publishes (through the outbox, in the transaction of the change; see
:mod:`medley_playlists.publishing`): ``playlists.playlist.created|updated|deleted`` and
``playlists.user_data.erased``.

Consumes:

* ``catalog.track|album|artist.created|updated|deleted|merged`` → the catalog projection
  (:mod:`medley_playlists.projection`);
* ``users.user.registered`` → the usernames owners name collaborators by;
* ``users.user.deleted`` → the user's data erased (:mod:`medley_playlists.erasure`);
* ``ingestion.listens.recorded`` → play counts and last played, ``ingestion.likes.changed``
  → likes (:mod:`medley_playlists.listening`).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts import catalog, playlists
from medley_contracts.envelope import EventEnvelope, EventType
from medley_contracts.ingestion import LIKES_CHANGED, LISTENS_RECORDED
from medley_contracts.users import USER_DELETED, USER_REGISTERED
from medley_core.events.runtime import EventHandler
from medley_playlists import collaboration, erasure, listening, projection

log = logging.getLogger("medley.playlists.events")

PUBLISHES: tuple[EventType[Any], ...] = (
    playlists.PLAYLIST_CREATED,
    playlists.PLAYLIST_UPDATED,
    playlists.PLAYLIST_DELETED,
    playlists.USER_DATA_ERASED,
)


async def on_track_changed(session: AsyncSession, envelope: EventEnvelope) -> None:
    await projection.track_changed(session, catalog.TrackV1.model_validate(envelope.data))


async def on_track_deleted(session: AsyncSession, envelope: EventEnvelope) -> None:
    payload = catalog.TRACK_DELETED.parse(envelope)
    await projection.track_deleted(session, payload.id, payload.deleted_at)


async def on_track_merged(session: AsyncSession, envelope: EventEnvelope) -> None:
    payload = catalog.TRACK_MERGED.parse(envelope)
    await projection.track_merged(session, payload.from_id, payload.into, payload.merged_at)


async def on_album_changed(session: AsyncSession, envelope: EventEnvelope) -> None:
    await projection.album_changed(session, catalog.AlbumV1.model_validate(envelope.data))


async def on_artist_changed(session: AsyncSession, envelope: EventEnvelope) -> None:
    await projection.artist_changed(session, catalog.ArtistV1.model_validate(envelope.data))


def _on_entity_deleted(kind: str) -> EventHandler:
    async def handler(session: AsyncSession, envelope: EventEnvelope) -> None:
        payload = catalog.EntityDeletedV1.model_validate(envelope.data)
        await projection.entity_deleted(session, kind, payload.id, payload.deleted_at)

    return handler


def _on_entity_merged(kind: str) -> EventHandler:
    async def handler(session: AsyncSession, envelope: EventEnvelope) -> None:
        payload = catalog.EntityMergedV1.model_validate(envelope.data)
        await projection.entity_merged(session, kind, payload.from_id, payload.into)

    return handler


async def on_user_registered(session: AsyncSession, envelope: EventEnvelope) -> None:
    payload = USER_REGISTERED.parse(envelope)
    await collaboration.member_registered(
        session, payload.user_id, payload.username, payload.registered_at
    )


async def on_user_deleted(session: AsyncSession, envelope: EventEnvelope) -> None:
    payload = USER_DELETED.parse(envelope)
    erased = await erasure.erase_user(session, payload.user_id, payload.erasure_id)
    log.info(
        "erasure %s: %d playlists of user %s erased", payload.erasure_id, erased, payload.user_id
    )


async def on_listens_recorded(session: AsyncSession, envelope: EventEnvelope) -> None:
    payload = LISTENS_RECORDED.parse(envelope)
    counted = await listening.listens_recorded(session, payload)
    if counted is None:
        log.info("listens batch %s: already counted", payload.batch_id)


async def on_likes_changed(session: AsyncSession, envelope: EventEnvelope) -> None:
    await listening.likes_changed(session, LIKES_CHANGED.parse(envelope))


def handlers() -> dict[str, EventHandler]:
    """``{event type: handler}`` for the app factory."""
    return {
        catalog.TRACK_CREATED.name: on_track_changed,
        catalog.TRACK_UPDATED.name: on_track_changed,
        catalog.TRACK_DELETED.name: on_track_deleted,
        catalog.TRACK_MERGED.name: on_track_merged,
        catalog.ALBUM_CREATED.name: on_album_changed,
        catalog.ALBUM_UPDATED.name: on_album_changed,
        catalog.ALBUM_DELETED.name: _on_entity_deleted("album"),
        catalog.ALBUM_MERGED.name: _on_entity_merged("album"),
        catalog.ARTIST_CREATED.name: on_artist_changed,
        catalog.ARTIST_UPDATED.name: on_artist_changed,
        catalog.ARTIST_DELETED.name: _on_entity_deleted("artist"),
        catalog.ARTIST_MERGED.name: _on_entity_merged("artist"),
        USER_REGISTERED.name: on_user_registered,
        USER_DELETED.name: on_user_deleted,
        LISTENS_RECORDED.name: on_listens_recorded,
        LIKES_CHANGED.name: on_likes_changed,
    }
