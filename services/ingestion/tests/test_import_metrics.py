"""Import throughput on ``/metrics``: the listens an import stored, counted once committed."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from medley_core.testing.metrics import scrape
from medley_ingestion.worker import ImportWorkers
from medley_local.pytest_plugin import ServiceDb

from .conftest import Headers
from .test_imports import import_file, spotify_sample

IMPORTED = "medley_listens_imported_total"


async def listens_imported(client: AsyncTestClient[Any], source: str) -> float:
    response = await client.get("/metrics")
    assert response.status_code == 200
    names, samples = scrape(response.text)
    assert IMPORTED in names
    return samples.get((IMPORTED, frozenset({("source", source)})), 0.0)


async def test_an_import_counts_the_listens_it_stored_and_not_the_duplicates(
    client: AsyncTestClient[Any], workers: ImportWorkers, as_user: Headers, fresh: ServiceDb
) -> None:
    user = uuid.uuid4()
    before = await listens_imported(client, "spotify")
    first = await import_file(client, workers, as_user(user), spotify_sample())
    assert first["progress"]["listens_imported"] == 5
    assert await listens_imported(client, "spotify") == before + 5
    again = await import_file(client, workers, as_user(user), spotify_sample())
    assert again["progress"]["duplicates_skipped"] == 5
    assert await listens_imported(client, "spotify") == before + 5
