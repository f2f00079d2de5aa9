"""Database role passwords and OAuth client secrets, generated once and kept.

A laptop's stack keeps its data between runs, so the passwords of the roles that own that
data must survive too: they live in ``<data dir>/secrets.json``, readable by its owner only.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass
class Credentials:
    """Role passwords (by role name) and client secrets (by client id)."""

    role_passwords: dict[str, str] = field(default_factory=dict)
    client_secrets: dict[str, str] = field(default_factory=dict)
    path: Path | None = None

    def ensure(self, roles: Iterable[str] = (), clients: Iterable[str] = ()) -> bool:
        """Generate what is missing; True if anything was added."""
        added = False
        for role in roles:
            if role not in self.role_passwords:
                self.role_passwords[role] = new_secret()
                added = True
        for client in clients:
            if client not in self.client_secrets:
                self.client_secrets[client] = new_secret()
                added = True
        return added

    @classmethod
    def load_or_create(
        cls, path: Path, roles: Iterable[str] = (), clients: Iterable[str] = ()
    ) -> Credentials:
        """The credentials kept at ``path``, completed with any new role or client."""
        path = Path(path)
        credentials = cls(path=path)
        if path.exists():
            stored = json.loads(path.read_text())
            credentials.role_passwords.update(stored.get("roles", {}))
            credentials.client_secrets.update(stored.get("clients", {}))
        if credentials.ensure(roles, clients) or not path.exists():
            credentials.save()
        return credentials

    def save(self) -> None:
        """Write the file atomically with mode 0600 (never briefly readable by others)."""
        if self.path is None:
            raise ValueError("these credentials have no file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps(
            {"roles": self.role_passwords, "clients": self.client_secrets}, indent=2, sort_keys=True
        )
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".secrets-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:  # mkstemp creates it 0600
                handle.write(body + "\n")
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
