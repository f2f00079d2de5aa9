"""Domain code raises errors and checks tokens without the web framework: the modules it
uses for that import no Litestar, so a capability module, an importer or a worker can use
them outside a request (and be unit-tested without an app)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "medley_core.errors",
        "medley_core.verification",
        "medley_core.revocation",
        "medley_core.pagination",
        "medley_core.params",
    ],
)
def test_module_imports_no_web_framework(module: str) -> None:
    probe = (
        f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith('litestar')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]", f"{module} pulls in {out}"
