"""ListenBrainz's ``/1/…`` routes, as the gateway's document shows them.

They are served by one hand-written handler (:mod:`medley_gateway.api.listenbrainz`: it
resolves a client's ``Authorization: Token …``, then passes the request to ingestion), so
this table routes nothing: it names each operation for the document, whose shapes come from
ingestion's own (the contracts, as for every route). ``/1/`` answers are ListenBrainz's,
not problem details: errors are ``{"code": …, "error": …}`` and every answer carries
``X-RateLimit-Limit``, ``-Remaining``, ``-Reset`` and ``-Reset-In``.
"""

from __future__ import annotations

from medley_gateway.routing import PUBLIC, Group, Route
from medley_gateway.schemas import (
    LBDeleteListen,
    LBLatestImport,
    LBRecordingFeedback,
    LBSubmission,
)

INGESTION = "ingestion"
_lb = Group("/1", INGESTION, "/1", PUBLIC, tags=("listenbrainz",))

_AUTHENTICATE = (
    " Authenticate with `Authorization: Token <a Medley API token>` (from "
    "`POST /api/v1/me/api-tokens`), as ListenBrainz clients do."
)
_ERRORS = {400: "Invalid request (ListenBrainz's error shape)."}

ROUTES: tuple[Route, ...] = (
    _lb.post(
        "/submit-listens",
        summary="Submit listens (ListenBrainz)",
        answer='Accepted: `{"status": "ok"}`.',
        description="`single`, `playing_now` or `import` listens." + _AUTHENTICATE,
        request=LBSubmission,
        also={401: "No valid token.", 429: "Past the rate limit; see X-RateLimit-Reset-In."},
    ),
    _lb.get(
        "/validate-token",
        summary="Whether a token is valid (ListenBrainz)",
        answer="`valid` and, when it is, `user_name`.",
        description="The token as `?token=` or in the Authorization header.",
    ),
    _lb.get(
        "/user/{user_name}/listens",
        summary="A user's listens, newest first (ListenBrainz)",
        answer="The listens (`min_ts`, `max_ts`, `count` as ListenBrainz takes them).",
        also=_ERRORS,
    ),
    _lb.get(
        "/user/{user_name}/listen-count",
        summary="How many listens a user has (ListenBrainz)",
        answer="The count.",
        also=_ERRORS,
    ),
    _lb.get(
        "/user/{user_name}/playing-now",
        summary="What a user is playing now (ListenBrainz)",
        answer="The listen playing now, if any.",
        also=_ERRORS,
    ),
    _lb.post(
        "/delete-listen",
        summary="Delete one of my listens (ListenBrainz)",
        answer="Deleted.",
        description="`listened_at` and `recording_msid` of the listen." + _AUTHENTICATE,
        request=LBDeleteListen,
    ),
    _lb.get(
        "/latest-import",
        summary="When a user's last import ended (ListenBrainz)",
        answer="`latest_import` (Unix seconds).",
        also=_ERRORS,
    ),
    _lb.post(
        "/latest-import",
        summary="Record when my last import ended (ListenBrainz)",
        answer="Recorded.",
        description=_AUTHENTICATE.strip(),
        request=LBLatestImport,
    ),
    _lb.post(
        "/feedback/recording-feedback",
        summary="Love (1), hate (-1) or forget (0) a recording (ListenBrainz)",
        answer="Recorded.",
        description=_AUTHENTICATE.strip(),
        request=LBRecordingFeedback,
    ),
    _lb.get(
        "/feedback/user/{user_name}/get-feedback",
        summary="A user's loves and hates (ListenBrainz)",
        answer="The feedback, a page at a time (`offset`, `count`).",
        also=_ERRORS,
    ),
    _lb.get(
        "/stats/user/{user_name}/{kind}",
        summary="A user's top artists, releases or recordings, or activity (ListenBrainz)",
        answer="The statistics (204 when the range holds none).",
        also={204: "Nothing in the range.", **_ERRORS},
    ),
)
