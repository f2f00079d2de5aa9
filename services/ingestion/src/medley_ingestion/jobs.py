"""Import jobs: created by an upload, listed, cancelled, deleted, and claimed by workers.

A job is ``queued`` until a worker claims it, ``running`` while one holds it, then
``completed``, ``failed`` (with the reason and where) or ``cancelled``. Workers in every
replica share the queue: a claim takes the oldest unfinished job with ``FOR UPDATE SKIP
LOCKED`` and holds it with a session advisory lock on a connection of its own (a
:class:`Lease`) for as long as it runs. A worker that dies (its process killed) loses the
connection and with it the lock, so the job, still ``running``, is claimed again by the
next worker and resumes from its checkpoint; two workers never run one job at once. Each
claim writes its own token in ``worker``, and a chunk is committed only while the job still
carries it.

Another user's job is a 404, as if it did not exist.
"""

# ruff: noqa: S608 -- SQL here is assembled from fixed fragments, never from input.

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from medley_core.db import asyncpg_dsn
from medley_core.errors import Conflict, NotFound, Unprocessable
from medley_core.ids import new_id, utcnow
from medley_ingestion.importers import FORMATS
from medley_ingestion.models import JOB_COUNTERS, ImportJob, ImportRejection
from medley_ingestion.uploads import ReceivedUpload

JOB_LOCK = "medley.ingestion.jobs"
# Candidates looked at per claim: locked rows of running jobs are skipped, so a few more
# than the workers of all replicas.
CLAIM_WINDOW = 32
FINISHED = ("completed", "failed", "cancelled")


def check_format(value: str | None) -> str | None:
    if value is not None and value not in FORMATS:
        raise Unprocessable(
            f"format must be one of {', '.join(FORMATS)} (or left out: it is detected)",
            field="format",
        )
    return value


async def create(session: AsyncSession, user_id: uuid.UUID, upload: ReceivedUpload) -> ImportJob:
    """A queued job for a received upload (the format was checked)."""
    job = ImportJob(
        id=new_id(),
        user_id=user_id,
        filename=upload.filename,
        requested_format=upload.requested_format,
        upload_path=upload.relative,
        upload_bytes=upload.size,
    )
    session.add(job)
    await session.flush()
    await session.refresh(job)
    return job


async def mine(session: AsyncSession, user_id: uuid.UUID, job_id: uuid.UUID) -> ImportJob:
    job = await session.get(ImportJob, job_id)
    if job is None or job.user_id != user_id:
        raise NotFound("no such import")
    return job


async def list_mine(
    session: AsyncSession, user_id: uuid.UUID, *, before: uuid.UUID | None, limit: int
) -> tuple[list[ImportJob], uuid.UUID | None]:
    """A page of the user's jobs, newest first; the id to continue before, if any."""
    query = select(ImportJob).where(col(ImportJob.user_id) == user_id)
    if before is not None:
        query = query.where(col(ImportJob.id) < before)
    rows = list(
        (await session.exec(query.order_by(col(ImportJob.id).desc()).limit(limit + 1))).all()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].id if more else None


async def rejections_of(session: AsyncSession, job_id: uuid.UUID) -> list[ImportRejection]:
    rows = await session.exec(
        select(ImportRejection)
        .where(col(ImportRejection.job_id) == job_id)
        .order_by(col(ImportRejection.seq))
    )
    return list(rows.all())


async def _locked(session: AsyncSession, user_id: uuid.UUID, job_id: uuid.UUID) -> ImportJob:
    job = (
        await session.exec(select(ImportJob).where(col(ImportJob.id) == job_id).with_for_update())
    ).one_or_none()
    if job is None or job.user_id != user_id:
        raise NotFound("no such import")
    await session.refresh(job)
    return job


async def cancel(session: AsyncSession, user_id: uuid.UUID, job_id: uuid.UUID) -> ImportJob:
    """A queued job is cancelled at once; a running one at its worker's next checkpoint
    (what it stored until then stays). An ended job cannot be cancelled (409)."""
    job = await _locked(session, user_id, job_id)
    if job.status in FINISHED:
        raise Conflict(f"the import has ended ({job.status})", status_now=job.status)
    now = utcnow()
    values: dict[str, Any] = {"cancel_requested_at": now, "updated_at": now}
    if job.status == "queued":
        values.update(status="cancelled", finished_at=now)
    await session.exec(update(ImportJob).where(col(ImportJob.id) == job_id).values(**values))
    await session.refresh(job)
    return job


async def delete_job(
    session: AsyncSession, user_id: uuid.UUID, job_id: uuid.UUID, uploads_dir: Path
) -> None:
    """Remove a job that is not running, and its upload; its listens stay (409 while it
    runs: cancel it first)."""
    job = await _locked(session, user_id, job_id)
    if job.status == "running":
        raise Conflict("the import is running: cancel it first", status_now=job.status)
    await session.exec(delete(ImportJob).where(col(ImportJob.id) == job_id))
    if job.upload_path:
        path = uploads_dir / job.upload_path
        await asyncio.to_thread(path.unlink, missing_ok=True)


def counts(job: ImportJob | asyncpg.Record | dict[str, Any]) -> dict[str, int]:
    get = job.__getitem__ if not isinstance(job, ImportJob) else job.__getattribute__
    return {name: int(get(name)) for name in JOB_COUNTERS}


# --- claiming ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedJob:
    id: uuid.UUID
    user_id: uuid.UUID
    filename: str
    upload_path: str | None
    requested_format: str | None
    checkpoint: dict[str, Any] | None
    attempts: int
    created_at: datetime


class Lease:
    """A claimed job, held by a session advisory lock on a connection of its own."""

    def __init__(self, conn: asyncpg.Connection[Any], job: ClaimedJob, token: str) -> None:
        self.conn = conn
        self.job = job
        self.token = token

    async def release(self) -> None:
        with contextlib.suppress(Exception):
            await self.conn.close(timeout=5)

    def alive(self) -> bool:
        return not self.conn.is_closed()


CANDIDATES = f"""
SELECT id FROM import_jobs
WHERE status IN ('queued', 'running')
ORDER BY id
LIMIT {CLAIM_WINDOW}
FOR UPDATE SKIP LOCKED
"""

TAKE = """
UPDATE import_jobs
SET status = 'running', worker = $2, attempts = attempts + 1, updated_at = now(),
    started_at = coalesce(started_at, now()), error = NULL, error_position = NULL
WHERE id = $1
RETURNING id, user_id, filename, upload_path, requested_format, checkpoint, attempts,
          created_at
"""


async def claim(database_url: str, schema: str, worker: str) -> Lease | None:
    """The oldest unfinished job nobody holds, claimed for ``worker``; None if there is none.

    The row locks (``FOR UPDATE SKIP LOCKED``) keep two claimers off the same candidate for
    the claim itself; the advisory lock, kept by the lease's connection, keeps every other
    worker off the job until it ends or the connection dies.
    """
    conn = await asyncpg.connect(
        asyncpg_dsn(database_url),
        server_settings={"search_path": schema, "application_name": f"medley-{worker}"},
    )
    try:
        async with conn.transaction():
            for row in await conn.fetch(CANDIDATES):
                held = await conn.fetchval(
                    "SELECT pg_try_advisory_lock(hashtext($1), hashtext($2))",
                    JOB_LOCK,
                    str(row["id"]),
                )
                if not held:
                    continue
                token = f"{worker}/{new_id()}"
                taken = await conn.fetchrow(TAKE, row["id"], token)
                assert taken is not None
                fields = dict(taken.items())
                if isinstance(fields["checkpoint"], str):
                    fields["checkpoint"] = json.loads(fields["checkpoint"])
                job = ClaimedJob(**fields)
                return Lease(conn, job, token)
    except BaseException:
        await conn.close()
        raise
    await conn.close()
    return None
