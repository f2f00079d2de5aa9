"""``uv run python -m medley_gateway.contracts [--check]``: rebuild the checked-in contracts.

Builds each upstream's app in this process (from its entry in :mod:`medley_core.registry`;
nothing is started or connected) and reads its OpenAPI document, so it needs the workspace,
where every service is installed. The environment is set aside while it runs (a throw-away
data directory, no ``MEDLEY_*`` settings), so the documents do not depend on who runs it.
Writes ``<upstream>.json`` beside this module; with ``--check`` writes nothing and exits 1
when a file is stale or a stand-in is shadowed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from medley_core import registry
from medley_gateway.contracts import DIRECTORY, REGENERATE
from medley_gateway.contracts.build import Built, build
from medley_gateway.routes import DOCUMENTED


@contextmanager
def _set_aside_environment() -> Iterator[None]:
    saved = dict(os.environ)
    try:
        with tempfile.TemporaryDirectory(prefix="medley-contracts-") as data_dir:
            for name in [n for n in os.environ if n.startswith("MEDLEY_")]:
                del os.environ[name]
            os.environ.update(MEDLEY_DATA_DIR=data_dir, MEDLEY_LOG_LEVEL="WARNING")
            yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def service_documents(names: set[str]) -> dict[str, dict[str, Any]]:
    """Each named service's OpenAPI document, as it serves it."""
    documents = {}
    with _set_aside_environment():
        for name in sorted(names):
            module, _, factory = registry.entry(name).app.partition(":")
            app = getattr(importlib.import_module(module), factory)()
            documents[name] = app.openapi_schema.to_schema()
    return documents


def render(contract: dict[str, Any]) -> str:
    return json.dumps(contract, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def stale_files(built: Built, directory: Path = DIRECTORY) -> list[str]:
    """The contract files that differ from what ``built`` would write (or should not exist)."""
    stale = [
        f"{name}.json"
        for name, contract in built.files.items()
        if not (directory / f"{name}.json").exists()
        or (directory / f"{name}.json").read_text() != render(contract)
    ]
    stale += [p.name for p in directory.glob("*.json") if p.stem not in built.files]
    return sorted(stale)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m medley_gateway.contracts")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    built = build(DOCUMENTED, service_documents({route.upstream for route in DOCUMENTED}))
    for note in built.shadowed:
        print(f"the upstream now declares what this stand-in says; delete it: {note}")
    if args.check:
        stale = stale_files(built)
        for name in stale:
            print(f"stale: {DIRECTORY / name} (run `{REGENERATE}`)")
        return 1 if stale or built.shadowed else 0
    for path in DIRECTORY.glob("*.json"):
        if path.stem not in built.files:
            path.unlink()
    for name, contract in built.files.items():
        (DIRECTORY / f"{name}.json").write_text(render(contract))
    print(f"wrote {', '.join(sorted(built.files))} contracts to {DIRECTORY}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
