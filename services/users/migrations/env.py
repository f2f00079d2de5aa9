from medley_core.migrations import run_migrations
from medley_users.models import UsersModel
from medley_users.settings import UsersSettings

run_migrations(UsersModel.metadata, UsersSettings)
