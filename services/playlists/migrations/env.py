from medley_core.migrations import run_migrations
from medley_playlists.models import PlaylistsModel
from medley_playlists.settings import PlaylistsSettings

run_migrations(PlaylistsModel.metadata, PlaylistsSettings)
