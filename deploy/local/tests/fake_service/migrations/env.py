"""The fake service's env.py: the same three lines as a real service's."""

from sqlmodel import SQLModel

from medley_core.db import schema_metadata
from medley_core.migrations import run_migrations
from medley_core.settings import ServiceSettings


class FakeModel(SQLModel):
    metadata = schema_metadata("fake_users")


class FakeSettings(ServiceSettings):
    schema_name = "fake_users"
    service_name = "fake"


run_migrations(FakeModel.metadata, FakeSettings)
