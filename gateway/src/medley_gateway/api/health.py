"""The gateway's health: liveness of its own, readiness of every upstream.

Written by hand: the gateway answers these itself (asking every upstream concurrently, past
their breakers) rather than passing one upstream's answer through.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.openapi import ResponseSpec

from medley_core.errors import ServiceUnavailable
from medley_core.problems import PROBLEM_MEDIA_TYPE
from medley_gateway.schemas import GatewayHealth, Liveness
from medley_gateway.upstreams import upstreams_of

HEALTH_TIMEOUT_STATE_KEY = "health_timeout_s"


@get(
    ["/health", "/health/ready"],
    tags=["health"],
    summary="Readiness: every upstream",
    responses={
        200: ResponseSpec(
            data_container=GatewayHealth,
            description="Every upstream is ready.",
            generate_examples=False,
        ),
        503: ResponseSpec(
            data_container=GatewayHealth,
            description="An upstream is not ready (a problem with the same body).",
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        ),
    },
)
async def health(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """200 only when every upstream's ``/health/ready`` answers 200; each upstream's state is
    in the body either way. The upstreams are asked concurrently, past their breakers."""
    timeout_s: float = request.app.state[HEALTH_TIMEOUT_STATE_KEY]
    states = await upstreams_of(request).readiness(timeout_s)
    if any(state["status"] != "up" for state in states.values()):
        down = sorted(name for name, state in states.items() if state["status"] != "up")
        raise ServiceUnavailable(f"not ready: {', '.join(down)}", upstreams=states)
    return {"status": "ok", "upstreams": states}


@get("/health/live", tags=["health"], summary="Liveness", sync_to_thread=False)
def liveness() -> Liveness:
    """200 while the gateway process serves; says nothing about the upstreams."""
    return Liveness(status="ok")
