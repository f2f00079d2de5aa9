"""Medley users/auth context."""

from pathlib import Path

# The service's Alembic history (services/users/migrations), beside src/.
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
