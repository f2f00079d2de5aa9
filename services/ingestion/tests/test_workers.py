"""Workers share the queue and never run one job twice at once; a worker process killed
mid-job leaves the job to the next worker, which resumes from its checkpoint and ends with
exactly the counts of an uninterrupted run."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from medley_ingestion.jobs import claim
from medley_ingestion.settings import IngestionSettings
from medley_ingestion.worker import ImportWorkers
from medley_local.pytest_plugin import ServiceDb

from . import samples
from .conftest import Headers
from .samples import BASE, extended_row
from .test_imports import upload


def big_history(listens: int, tracks: int) -> bytes:
    """An extended history of ``listens`` plays over ``tracks`` distinct tracks, with a
    rejected and a too-short row now and then (so every counter has something to count)."""
    rows = []
    for i in range(listens):
        n = i % tracks
        track = (f"Artist {n % 50}", f"Album {n % 120}", f"Song number {n}", f"{n:022d}", 200_000)
        rows.append(
            extended_row(BASE + samples.minutes(4 * i), 200_000 if i % 17 else 5_000, track)
        )
        if i % 250 == 0:
            rows.append({"ts": "broken", "ms_played": 1})
    return samples.spotify_extended_zip([samples.extended_history(rows)])


async def test_two_claims_never_take_one_job(
    client: AsyncTestClient[Any], as_user: Headers, settings: IngestionSettings, fresh: ServiceDb
) -> None:
    job = (await upload(client, as_user(uuid.uuid4()), big_history(10, 5))).json()
    leases = await asyncio.gather(
        *(claim(settings.database_url, settings.schema_name, f"w{i}") for i in range(4))
    )
    held = [lease for lease in leases if lease is not None]
    try:
        assert [lease.job.id for lease in held] == [uuid.UUID(job["id"])]
        # While it is held, nobody else gets it, although it is "running".
        assert await claim(settings.database_url, settings.schema_name, "late") is None
    finally:
        for lease in held:
            await lease.release()
    # Released (its worker gone), the next claim takes it again.
    again = await claim(settings.database_url, settings.schema_name, "next")
    assert again is not None
    try:
        assert again.job.id == uuid.UUID(job["id"])
        assert again.job.attempts == 2
    finally:
        await again.release()


async def test_concurrent_workers_run_each_job_once(
    client: AsyncTestClient[Any],
    as_user: Headers,
    settings: IngestionSettings,
    workers: ImportWorkers,
    fresh: ServiceDb,
) -> None:
    user = as_user(uuid.uuid4())
    ids = [
        (await upload(client, user, big_history(300, 40), f"{i}.zip")).json()["id"]
        for i in range(6)
    ]
    pool = ImportWorkers(settings, workers.sessions, workers.catalog, count=0)
    results = await asyncio.gather(*(pool.run_one(f"w{i}") for i in range(3)))
    while any(r is not None for r in results):
        results = await asyncio.gather(*(pool.run_one(f"w{i}") for i in range(3)))
    jobs = await fresh.fetch("SELECT id, status, attempts FROM import_jobs ORDER BY id")
    assert [(str(j["id"]), j["status"], j["attempts"]) for j in jobs] == [
        (i, "completed", 1) for i in ids
    ]
    started = await fresh.events("ingestion.import.started")
    assert sorted(e["subject"] for e in started) == sorted(ids)


def worker_process(
    settings: IngestionSettings, catalog_token: str, data_dir: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MEDLEY_INGESTION_DATABASE_URL": settings.database_url,
        "MEDLEY_INGESTION_NATS_URL": settings.nats_url,
        "MEDLEY_INGESTION_EVENT_PREFIX": settings.event_prefix,
        "MEDLEY_INGESTION_DATA_DIR": str(data_dir),
        "MEDLEY_INGESTION_CATALOG_URL": settings.catalog_url,
        "MEDLEY_INGESTION_CATALOG_TOKEN": catalog_token,
        "MEDLEY_INGESTION_IMPORT_WORKERS": "1",
        "MEDLEY_INGESTION_IMPORT_CHUNK_RECORDS": "100",
        "MEDLEY_INGESTION_WORKER_POLL_INTERVAL_S": "0.2",
        "MEDLEY_INGESTION_LOG_JSON": "false",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "medley_ingestion.worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def wait_for(db: ServiceDb, query: str, *args: object, timeout_s: float = 120) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        value = await db.fetchval(query, *args)
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, f"timed out: {query}"
        await asyncio.sleep(0.05)


async def test_a_job_killed_mid_run_resumes_with_exact_counts(
    client: AsyncTestClient[Any],
    as_user: Headers,
    settings: IngestionSettings,
    workers: ImportWorkers,
    catalog_token: str,
    data_dir: Path,
    fresh: ServiceDb,
) -> None:
    export = big_history(3_000, 400)
    # The reference: the same export imported by another user without interruption.
    reference_user = uuid.uuid4()
    reference = (await upload(client, as_user(reference_user), export)).json()
    assert await workers.run_one() == "completed"

    user = uuid.uuid4()
    job = (await upload(client, as_user(user), export)).json()
    job_id = uuid.UUID(job["id"])
    process = worker_process(settings, catalog_token, data_dir)
    try:
        # Wait until the worker has committed a few chunks, but not all, then kill it.
        await wait_for(fresh, "SELECT records_read >= 500 FROM import_jobs WHERE id = $1", job_id)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    [interrupted] = await fresh.fetch("SELECT * FROM import_jobs WHERE id = $1", job_id)
    assert interrupted["status"] == "running"
    assert 500 <= interrupted["records_read"] < 3_000 + 12

    # The next worker takes it over from its checkpoint.
    resumer = worker_process(settings, catalog_token, data_dir)
    try:
        await wait_for(fresh, "SELECT status = 'completed' FROM import_jobs WHERE id = $1", job_id)
    finally:
        resumer.send_signal(signal.SIGTERM)
        resumer.wait(timeout=30)

    done = (await client.get(f"/api/v1/imports/{job_id}", headers=as_user(user))).json()
    expected = (
        await client.get(f"/api/v1/imports/{reference['id']}", headers=as_user(reference_user))
    ).json()
    assert done["attempts"] == 2
    assert done["progress"] == expected["progress"]
    assert done["rejections"] == expected["rejections"]
    assert done["progress"]["listens_imported"] > 2_500
    assert (
        await fresh.fetchval("SELECT count(*) FROM plays WHERE user_id = $1", user)
        == done["progress"]["listens_imported"]
    )
