"""JetStream streams: one per bounded context, created or brought up to date on demand.

Whoever touches a context's stream first (its publisher's relay, or a consumer starting
before the publisher ever ran) creates it, always with the same configuration, so the
order in which services start does not matter.
"""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig, StreamInfo
from nats.js.errors import BadRequestError

from medley_contracts.envelope import stream_name, stream_subjects

log = logging.getLogger("medley.events.streams")

# JetStream drops a message whose Nats-Msg-Id it saw within this window. The outbox relay
# may republish an event it could not mark as sent; this covers its retries.
DUPLICATE_WINDOW_S = 300.0


def stream_config(context: str, prefix: str) -> StreamConfig:
    """The one configuration of a context's stream (deterministic: every caller agrees)."""
    return StreamConfig(
        name=stream_name(context, prefix),
        description=f"Medley events of the {context} context",
        subjects=[stream_subjects(context, prefix)],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        duplicate_window=DUPLICATE_WINDOW_S,
    )


async def ensure_stream(js: JetStreamContext, context: str, prefix: str) -> StreamInfo:
    """Create the stream of ``context``, or update it to :func:`stream_config`. Idempotent."""
    config = stream_config(context, prefix)
    try:
        # Creating a stream that exists with the same configuration succeeds.
        info: StreamInfo = await js.add_stream(config)
    except BadRequestError:
        # It exists with another configuration (an older Medley): bring it up to date.
        log.info("updating stream %s to the current configuration", config.name)
        info = await js.update_stream(config)
    return info
