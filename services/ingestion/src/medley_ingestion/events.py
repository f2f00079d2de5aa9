"""What ingestion publishes, and how it reacts to other contexts' events.

Publishes (collected in the transaction of the change, written to the outbox once before it
commits; batched):

* ``ingestion.listens.recorded``: the plays a chunk or a submission newly stored, at most
  5,000 per event (never one event per listen);
* ``ingestion.likes.changed``: likes added, changed or removed together;
* ``ingestion.import.started|completed|failed``: a job's life, with its counts;
* ``ingestion.user_data.erased``: the erasure saga's answer.

Consumes:

* ``catalog.track.created|updated|deleted`` → the projection of catalog tracks
  (:mod:`medley_ingestion.projection`);
* ``catalog.track.merged`` → plays, likes and connector tracks re-pointed to the survivor
  (:mod:`medley_ingestion.merges`);
* ``users.user.registered`` → the listener's public name (ListenBrainz's routes use it);
* ``users.user.deleted`` → the user's plays, likes, checkpoints, jobs and uploads erased
  (:mod:`medley_ingestion.erasure`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from medley_contracts import catalog as catalog_events
from medley_contracts.envelope import EventEnvelope
from medley_contracts.ingestion import (
    IMPORT_COMPLETED,
    IMPORT_FAILED,
    IMPORT_STARTED,
    LIKES_CHANGED,
    LISTENS_RECORDED,
    MAX_LIKES_PER_EVENT,
    MAX_LISTENS_PER_EVENT,
    USER_DATA_ERASED,
    ImportCountsV1,
    ImportFinishedV1,
    ImportStartedV1,
    LikeChangeV1,
    LikesChangedV1,
    ListensRecordedV1,
    ListenV1,
)
from medley_contracts.users import USER_DELETED, USER_REGISTERED, UserDataErasedV1
from medley_core.events.runtime import EventHandler
from medley_core.events.unit_of_work import PendingEvent, collect, collect_many
from medley_core.ids import new_id, utcnow
from medley_ingestion import erasure, merges, projection
from medley_ingestion.plays import StoredPlay
from medley_ingestion.settings import IngestionSettings

log = logging.getLogger("medley.ingestion.events")

CONTEXT = "ingestion"

PUBLISHES = (
    LISTENS_RECORDED,
    LIKES_CHANGED,
    IMPORT_STARTED,
    IMPORT_COMPLETED,
    IMPORT_FAILED,
    USER_DATA_ERASED,
)


def listens_recorded(
    session: AsyncSession, user_id: uuid.UUID, stored: Sequence[StoredPlay]
) -> None:
    """The newly stored plays, in events of at most 5,000."""
    now = utcnow()
    events: list[PendingEvent] = []
    for start in range(0, len(stored), MAX_LISTENS_PER_EVENT):
        batch_id = new_id()
        payload = ListensRecordedV1(
            batch_id=batch_id,
            user_id=user_id,
            recorded_at=now,
            # Already typed (ids and aware times from the database): not validated again.
            listens=[
                ListenV1.model_construct(track_id=p.track_id, listened_at=p.listened_at)
                for p in stored[start : start + MAX_LISTENS_PER_EVENT]
            ],
        )
        events.append((LISTENS_RECORDED, payload, str(batch_id)))
    collect_many(session, events, occurred_at=now)


def likes_changed(
    session: AsyncSession, user_id: uuid.UUID, changes: Sequence[LikeChangeV1]
) -> None:
    events: list[PendingEvent] = []
    for start in range(0, len(changes), MAX_LIKES_PER_EVENT):
        batch_id = new_id()
        payload = LikesChangedV1(
            batch_id=batch_id,
            user_id=user_id,
            changes=list(changes[start : start + MAX_LIKES_PER_EVENT]),
        )
        events.append((LIKES_CHANGED, payload, str(batch_id)))
    collect_many(session, events)


def import_started(
    session: AsyncSession,
    job_id: uuid.UUID,
    user_id: uuid.UUID,
    filename: str,
    attempt: int,
) -> None:
    now = utcnow()
    collect(
        session,
        IMPORT_STARTED,
        ImportStartedV1(
            job_id=job_id, user_id=user_id, filename=filename, attempt=attempt, started_at=now
        ),
        subject=str(job_id),
        occurred_at=now,
    )


def import_finished(
    session: AsyncSession,
    job: dict[str, Any],
) -> None:
    """``completed`` or ``failed``, from the job's row as it ends."""
    status = job["status"]
    event = IMPORT_COMPLETED if status == "completed" else IMPORT_FAILED
    collect(
        session,
        event,
        ImportFinishedV1(
            job_id=job["id"],
            user_id=job["user_id"],
            status=status,
            format=job.get("detected_format"),
            counts=ImportCountsV1.model_validate(job),
            error=job.get("error"),
            error_position=job.get("error_position"),
            finished_at=job.get("finished_at") or utcnow(),
        ),
        subject=str(job["id"]),
    )


def user_data_erased(session: AsyncSession, user_id: uuid.UUID, erasure_id: uuid.UUID) -> None:
    collect(
        session,
        USER_DATA_ERASED,
        UserDataErasedV1(
            user_id=user_id, erasure_id=erasure_id, context=CONTEXT, erased_at=utcnow()
        ),
        subject=str(user_id),
    )


# --- consumed events ---------------------------------------------------------------------


def handlers(settings: IngestionSettings) -> dict[str, EventHandler]:
    """``{event type: handler}`` for the app factory."""

    async def on_track_changed(session: AsyncSession, envelope: EventEnvelope) -> None:
        await projection.apply_track(session, catalog_events.TRACK_UPDATED.parse(envelope))

    async def on_track_deleted(session: AsyncSession, envelope: EventEnvelope) -> None:
        payload = catalog_events.TRACK_DELETED.parse(envelope)
        await projection.mark_deleted(session, payload.id, payload.deleted_at)

    async def on_track_merged(session: AsyncSession, envelope: EventEnvelope) -> None:
        payload = catalog_events.TRACK_MERGED.parse(envelope)
        moved = await merges.merge_tracks(
            session,
            payload.from_id,
            payload.into,
            duplicate_window_s=settings.duplicate_window_s,
        )
        log.info("track %s merged into %s: %s", payload.from_id, payload.into, moved)

    async def on_user_registered(session: AsyncSession, envelope: EventEnvelope) -> None:
        payload = USER_REGISTERED.parse(envelope)
        await projection.remember_listener(session, payload.user_id, payload.username)

    async def on_user_deleted(session: AsyncSession, envelope: EventEnvelope) -> None:
        payload = USER_DELETED.parse(envelope)
        erased = await erasure.erase_user(session, payload.user_id, settings.uploads_dir)
        user_data_erased(session, payload.user_id, payload.erasure_id)
        log.info("erasure %s of user %s: %s", payload.erasure_id, payload.user_id, erased)

    table: dict[str, Callable[[AsyncSession, EventEnvelope], Awaitable[None]]] = {
        catalog_events.TRACK_CREATED.name: on_track_changed,
        catalog_events.TRACK_UPDATED.name: on_track_changed,
        catalog_events.TRACK_DELETED.name: on_track_deleted,
        catalog_events.TRACK_MERGED.name: on_track_merged,
        USER_REGISTERED.name: on_user_registered,
        USER_DELETED.name: on_user_deleted,
    }
    return table
