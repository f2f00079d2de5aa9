"""Medley ingestion context: listening history brought in exactly once."""

from pathlib import Path

# The service's Alembic history (services/ingestion/migrations), beside src/.
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
