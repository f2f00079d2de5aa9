from medley_catalog.models import CatalogModel
from medley_catalog.settings import CatalogSettings
from medley_core.migrations import run_migrations

run_migrations(CatalogModel.metadata, CatalogSettings)
