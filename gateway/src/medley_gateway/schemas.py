"""The shapes the gateway itself knows.

The users service owns the rules (username pattern, password strength, unknown fields…) and
answers problems when they are broken; the gateway forwards the caller's body unchanged.
Request bodies are decoded here only for their *shape* (JSON object, field types), so a
malformed body is refused before it costs an upstream call, and login/register can read the
account name their rate limits are keyed on. The rest are documentation: the hand-written
routes' answers, problems and health, and stand-ins for what an upstream's own document does
not declare yet (:mod:`medley_gateway.contracts`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec


class RegisterRequest(msgspec.Struct, kw_only=True):
    username: str
    email: str
    password: str
    display_name: str | None = None


class LoginRequest(msgspec.Struct, kw_only=True):
    login: str
    """A username or an email address."""
    password: str


class RefreshRequest(msgspec.Struct, kw_only=True):
    refresh_token: str


class TokenPair(msgspec.Struct, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int


class UpdateMeRequest(msgspec.Struct, kw_only=True):
    display_name: str | None = None
    email: str | None = None


class ChangePasswordRequest(msgspec.Struct, kw_only=True):
    current_password: str
    new_password: str


class DeleteMeRequest(msgspec.Struct, kw_only=True):
    password: str
    """The current password, to confirm."""


class ApiTokenRequest(msgspec.Struct, kw_only=True):
    name: str


class IntegrationRequest(msgspec.Struct, kw_only=True):
    external_user_id: str
    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None
    scopes: list[str] = msgspec.field(default_factory=list)


class ServiceTokenRequest(msgspec.Struct, kw_only=True):
    """An OAuth2 client-credentials token request (RFC 6749 §4.4), form-encoded or JSON."""

    grant_type: str
    """``client_credentials``."""
    client_id: str | None = None
    """With ``client_secret``, unless the client authenticates with HTTP Basic."""
    client_secret: str | None = None
    scope: str | None = None
    """Space-separated scopes; none asks for every scope the client holds."""


class ProblemDetails(msgspec.Struct, kw_only=True):
    """RFC 9457 problem details, plus the request id to quote."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None


class UpstreamHealth(msgspec.Struct, kw_only=True):
    status: str
    url: str
    circuit: str
    latency_ms: float
    error: str | None = None


class GatewayHealth(msgspec.Struct, kw_only=True):
    status: str
    upstreams: dict[str, UpstreamHealth]


class Liveness(msgspec.Struct, kw_only=True):
    status: str
    """``ok`` while the gateway process serves."""


class UploadForm(msgspec.Struct, kw_only=True):
    """An export upload (``multipart/form-data``), streamed through to ingestion."""

    file: Annotated[bytes, msgspec.Meta(description="the export: a zip or one of its files")]
    format: (
        Annotated[
            str,
            msgspec.Meta(
                description="spotify_extended, spotify_account, lastfm_csv or listenbrainz"
            ),
        ]
        | None
    ) = None


# --- ListenBrainz's request bodies (documentation: ingestion reads them as ListenBrainz does)


class LBTrackMetadata(msgspec.Struct, kw_only=True):
    artist_name: str
    track_name: str
    release_name: str | None = None
    additional_info: Annotated[
        dict[str, str | int | float | bool | list[str]] | None,
        msgspec.Meta(description="MBIDs, duration_ms, the player's own fields"),
    ] = None


class LBListen(msgspec.Struct, kw_only=True):
    listened_at: Annotated[
        int | None, msgspec.Meta(description="Unix seconds; left out for playing_now")
    ] = None
    track_metadata: LBTrackMetadata


class LBSubmissionBody(msgspec.Struct, kw_only=True):
    listen_type: Literal["single", "playing_now", "import"]
    payload: Annotated[
        list[LBListen], msgspec.Meta(description="one listen (single, playing_now), up to 1,000")
    ]


LBSubmission = Annotated[
    LBSubmissionBody,
    msgspec.Meta(
        examples=[
            {
                "listen_type": "single",
                "payload": [
                    {
                        "listened_at": 1_735_689_600,
                        "track_metadata": {
                            "artist_name": "Radiohead",
                            "track_name": "Airbag",
                            "release_name": "OK Computer",
                        },
                    }
                ],
            }
        ]
    ),
]


class LBDeleteListen(msgspec.Struct, kw_only=True):
    listened_at: int
    recording_msid: str


class LBLatestImport(msgspec.Struct, kw_only=True):
    ts: Annotated[int, msgspec.Meta(description="when the import ended, Unix seconds")]


class LBRecordingFeedback(msgspec.Struct, kw_only=True):
    score: Annotated[Literal[-1, 0, 1], msgspec.Meta(description="love 1, hate -1, forget 0")]
    recording_msid: str | None = None
    recording_mbid: str | None = None
