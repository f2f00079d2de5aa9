"""A playlist's collaborators over HTTP."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from medley_core.params import parse_id
from medley_playlists import collaboration
from medley_playlists.api.answers import CollaboratorOut, Collaborators, shaped
from medley_playlists.api.deps import USERS, PlaylistId, Session, UserId
from medley_playlists.api.schemas import CollaboratorIn

User = NamedDependency[uuid.UUID]
Viewer = NamedDependency[uuid.UUID | None]


class CollaboratorsController(Controller):
    path = "/playlists/{playlist_id:str}/collaborators"
    tags = ["collaborators"]

    @get("/", summary="The collaborators and their roles")
    async def listed(
        self, playlist_id: PlaylistId, db_session: Session, viewer: Viewer
    ) -> Collaborators:
        found = await collaboration.listed(db_session, parse_id(playlist_id, "playlist_id"), viewer)
        return Collaborators(items=[shaped(c, CollaboratorOut) for c in found])

    @post(
        "/",
        guards=USERS,
        status_code=HTTP_201_CREATED,
        summary="Name a user editor or viewer (the owner)",
    )
    async def add(
        self,
        playlist_id: PlaylistId,
        data: JSONBody[CollaboratorIn],
        db_session: Session,
        user: User,
    ) -> CollaboratorOut:
        added = await collaboration.add(
            db_session, parse_id(playlist_id, "playlist_id"), user, data.username, data.role
        )
        return shaped(added, CollaboratorOut)

    @delete(
        "/{user_id:str}",
        guards=USERS,
        status_code=HTTP_204_NO_CONTENT,
        summary="Remove a collaborator (the owner), or leave",
    )
    async def remove(
        self, playlist_id: PlaylistId, user_id: UserId, db_session: Session, user: User
    ) -> None:
        await collaboration.remove(
            db_session, parse_id(playlist_id, "playlist_id"), user, parse_id(user_id, "user_id")
        )
