"""plays: lean for bulk imports — no foreign keys, no index on the import job or the track.

Every index and foreign key of ``plays`` is paid on each of a million imported rows (a
foreign key is a lookup per row). The two foreign keys go: connector tracks are never
deleted, and a deleted job's id stays on its plays as where they came from. Merges find the
plays of a track through its users' per-track totals (indexed here by track) and the unique
key (user, track, start), so the track index goes, and nothing reads plays by import job.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint(
        "fk_plays_connector_track_id_connector_tracks",
        "plays",
        type_="foreignkey",
        schema="ingestion",
    )
    op.drop_constraint(
        "fk_plays_import_job_id_import_jobs", "plays", type_="foreignkey", schema="ingestion"
    )
    op.drop_index("ix_plays_import_job_id", table_name="plays", schema="ingestion")
    op.drop_index("ix_plays_track_id", table_name="plays", schema="ingestion")
    op.create_index(
        "ix_user_track_totals_track_id",
        "user_track_totals",
        ["track_id"],
        unique=False,
        schema="ingestion",
    )


def downgrade() -> None:
    op.drop_index(
        "ix_user_track_totals_track_id", table_name="user_track_totals", schema="ingestion"
    )
    op.create_index("ix_plays_track_id", "plays", ["track_id"], unique=False, schema="ingestion")
    op.create_index(
        "ix_plays_import_job_id", "plays", ["import_job_id"], unique=False, schema="ingestion"
    )
    op.execute(
        "UPDATE ingestion.plays p SET import_job_id = NULL WHERE import_job_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM ingestion.import_jobs j WHERE j.id = p.import_job_id)"
    )
    op.create_foreign_key(
        "fk_plays_import_job_id_import_jobs",
        "plays",
        "import_jobs",
        ["import_job_id"],
        ["id"],
        source_schema="ingestion",
        referent_schema="ingestion",
        ondelete="SET NULL",
    )
    op.create_foreign_key(
        "fk_plays_connector_track_id_connector_tracks",
        "plays",
        "connector_tracks",
        ["connector_track_id"],
        ["id"],
        source_schema="ingestion",
        referent_schema="ingestion",
    )
