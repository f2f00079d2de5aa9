"""The embedded servers `make run` depends on: they start, answer, keep data, and stop.

These always run embedded, whatever MEDLEY_DATABASE_URL / MEDLEY_NATS_URL say.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import nats
import pytest

from medley_local.embedded import EmbeddedNats, EmbeddedPostgres, EmbeddedServerError


@pytest.fixture
def work_dir() -> Iterator[Path]:
    # Not pytest's tmp_path: when we are root, PostgreSQL runs as another user, and pytest's
    # base directory is private to us.
    path = Path(tempfile.mkdtemp(prefix="medley-embedded-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def alive(pid: int | None) -> bool:
    assert pid is not None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_postgres_with_contrib_starts_answers_keeps_data_and_stops(work_dir: Path) -> None:
    data = work_dir / "postgres"
    async with EmbeddedPostgres(data) as postgres:
        pid = postgres.pid
        conn = await asyncpg.connect(postgres.url)
        try:
            assert (await conn.fetchval("SHOW server_version")).startswith("18")
            await conn.execute("CREATE EXTENSION pg_trgm")
            await conn.execute("CREATE EXTENSION unaccent")
            assert await conn.fetchval("SELECT unaccent('Björk Guðmundsdóttir')") == (
                "Bjork Gudmundsdottir"
            )
            # A UTF-8 ctype: pg_trgm keeps accented letters (under "C" it drops them).
            assert await conn.fetchval("SELECT similarity('Sigur Rós', 'sigur rós')") == 1
            assert await conn.fetchval("SELECT similarity('Rós', 'Ros')") < 1
            await conn.execute("CREATE TABLE kept (note text)")
            await conn.execute("INSERT INTO kept VALUES ('still here')")
        finally:
            await conn.close()
    assert not alive(pid)
    assert not (data / "postmaster.pid").exists()

    # The data directory is reused (no second initdb), and so is what it holds.
    with EmbeddedPostgres(data) as again:
        conn = await asyncpg.connect(again.url)
        try:
            assert await conn.fetchval("SELECT note FROM kept") == "still here"
        finally:
            await conn.close()
    assert not again.running


async def test_a_second_server_on_the_same_data_is_refused(work_dir: Path) -> None:
    async with EmbeddedPostgres(work_dir / "postgres") as postgres:
        with pytest.raises(EmbeddedServerError, match="already runs"):
            await EmbeddedPostgres(work_dir / "postgres").astart()
        assert postgres.running


async def test_nats_runs_jetstream_with_fsync_on_every_write(work_dir: Path) -> None:
    async with EmbeddedNats(work_dir / "nats") as server:
        async with httpx.AsyncClient(timeout=5) as http:
            varz = (await http.get(f"{server.monitor_url}/varz")).json()
        assert varz["jetstream"]["config"]["sync_always"] is True
        assert varz["jetstream"]["config"]["store_dir"].startswith(str(work_dir / "nats"))
        client = await nats.connect(server.url)
        try:
            js = client.jetstream()
            await js.add_stream(name="EMBEDDED_TEST", subjects=["embedded.>"])
            ack = await js.publish("embedded.hello", b"hi", headers={"Nats-Msg-Id": "1"})
            assert ack.seq == 1
            duplicate = await js.publish("embedded.hello", b"hi", headers={"Nats-Msg-Id": "1"})
            assert duplicate.duplicate
        finally:
            await client.close()
        pid = server.pid
    assert not alive(pid)


def test_nats_from_sync_code(work_dir: Path) -> None:
    with EmbeddedNats(work_dir / "nats") as server:
        assert httpx.get(f"{server.monitor_url}/healthz", timeout=5).status_code == 200
    assert not server.running
