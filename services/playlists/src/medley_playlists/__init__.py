"""Medley playlists context: users' ordered playlists, smart playlists and collections."""

from pathlib import Path

# The service's Alembic history (services/playlists/migrations), beside src/.
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
