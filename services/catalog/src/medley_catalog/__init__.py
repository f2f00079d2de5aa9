"""Medley catalog context: the shared reference of artists, albums and tracks."""

from pathlib import Path

# The service's Alembic history (services/catalog/migrations), beside src/.
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
