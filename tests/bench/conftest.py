"""Fixtures every benchmark shares (``make bench`` collects this directory on purpose)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def bench_server(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(an administrator's URL, a role suffix): the shared ``infra`` when loaded."""
    try:
        infra = request.getfixturevalue("infra")
        return infra.admin_url, infra.role_suffix
    except pytest.FixtureLookupError:
        server_url = os.environ.get("MEDLEY_DATABASE_URL", "")
        if not server_url:
            pytest.skip("needs the infra fixture or MEDLEY_DATABASE_URL")
        return server_url, ""
