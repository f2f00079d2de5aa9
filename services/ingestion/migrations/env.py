from medley_core.migrations import run_migrations
from medley_ingestion.models import IngestionModel
from medley_ingestion.settings import IngestionSettings

run_migrations(IngestionModel.metadata, IngestionSettings)
