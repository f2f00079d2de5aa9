"""Accepting an import: the upload streamed to disk, then a queued job for the workers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.db import transaction
from medley_ingestion import jobs
from medley_ingestion.models import JOB_COUNTERS, ImportJob
from medley_ingestion.settings import IngestionSettings
from medley_ingestion.uploads import receive_upload


async def accept_upload(
    sessions: async_sessionmaker[AsyncSession],
    settings: IngestionSettings,
    user_id: uuid.UUID,
    chunks: AsyncIterator[bytes],
    *,
    content_type: str | None,
    content_length: int | None,
    on_queued: Callable[[], None] = lambda: None,
) -> ImportJob:
    """Stream the body's ``file`` to the uploads directory and queue a job for it (committed
    before the workers are woken); a refused upload leaves no file behind."""
    upload = await receive_upload(
        chunks,
        content_type,
        settings.uploads_dir,
        max_bytes=settings.max_upload_bytes,
        content_length=content_length,
    )
    try:
        jobs.check_format(upload.requested_format)
        async with transaction(sessions) as session:
            job = await jobs.create(session, user_id, upload)
    except BaseException:  # a refused format, a database error, a cancelled request
        await asyncio.to_thread(upload.path.unlink, missing_ok=True)
        raise
    on_queued()
    return job


def describe(job: ImportJob, rejections: list[Any] | None = None) -> dict[str, Any]:
    """A job as the API shows it."""
    body: dict[str, Any] = {
        "id": job.id,
        "status": job.status,
        "filename": job.filename,
        "format": job.requested_format,
        "detected_format": job.detected_format,
        "upload_bytes": job.upload_bytes,
        "upload_kept": job.upload_path is not None,
        "progress": {name: getattr(job, name) for name in JOB_COUNTERS},
        "error": job.error,
        "error_position": job.error_position,
        "cancel_requested": job.cancel_requested_at is not None,
        "attempts": job.attempts,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }
    if rejections is not None:
        body["rejections"] = [
            {"entry": r.entry, "position": r.position, "reason": r.reason} for r in rejections
        ]
    return body


async def detail(session: AsyncSession, user_id: uuid.UUID, job_id: uuid.UUID) -> dict[str, Any]:
    job = await jobs.mine(session, user_id, job_id)
    return describe(job, await jobs.rejections_of(session, job_id))


async def page(
    session: AsyncSession, user_id: uuid.UUID, *, before: uuid.UUID | None, limit: int
) -> dict[str, Any]:
    found, next_before = await jobs.list_mine(session, user_id, before=before, limit=limit)
    return {
        "items": [describe(job) for job in found],
        "next_cursor": str(next_before) if next_before else None,
    }
