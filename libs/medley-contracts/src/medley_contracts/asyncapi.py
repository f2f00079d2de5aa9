"""The AsyncAPI 3.0 document of Medley's events, built from the contract types themselves.

Every ``EventType`` defined in a ``medley_contracts`` module is a channel
(``medley.<type>``) with one message whose payload is the envelope around that event's
data schema, so the document cannot drift from the code. ``python -m medley_contracts.asyncapi``
prints it; the gateway serves it.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from typing import Any

import medley_contracts
from medley_contracts.envelope import DEFAULT_PREFIX, EventEnvelope, EventType, nats_subject


def all_event_types() -> list[EventType[Any]]:
    """Every event type the contract modules declare, ordered by name."""
    found: dict[tuple[str, int], EventType[Any]] = {}
    for module_info in pkgutil.iter_modules(medley_contracts.__path__):
        module = importlib.import_module(f"medley_contracts.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, EventType):
                found[(value.name, value.version)] = value
    return [found[key] for key in sorted(found)]


def _key(event: EventType[Any]) -> str:
    return f"{event.name.replace('.', '_')}_v{event.version}"


def asyncapi_document(prefix: str = DEFAULT_PREFIX) -> dict[str, Any]:
    envelope = EventEnvelope.model_json_schema()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for event in all_event_types():
        key = _key(event)
        data_schema = event.payload.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in data_schema.pop("$defs", {}).items():
            schemas[name] = definition
        schemas[f"{key}_data"] = data_schema
        payload = json.loads(json.dumps(envelope))
        payload["title"] = f"{event.name} v{event.version}"
        payload["properties"]["type"] = {"const": event.name}
        payload["properties"]["version"] = {"const": event.version}
        payload["properties"]["data"] = {"$ref": f"#/components/schemas/{key}_data"}
        messages[key] = {
            "name": event.name,
            "title": f"{event.name} (version {event.version})",
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "properties": {
                    "Nats-Msg-Id": {"type": "string", "description": "the event id"},
                    "X-Request-ID": {"type": "string"},
                    "traceparent": {"type": "string"},
                },
            },
            "payload": payload,
        }
        channels[key] = {
            "address": nats_subject(event.name, prefix),
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        operations[f"publish_{key}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"the {event.context} context publishes {event.name}",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Medley events",
            "version": "1.0.0",
            "description": (
                "Domain events of Medley's contexts on NATS JetStream, one stream per context "
                f"({prefix.upper()}_<CONTEXT>, subjects {prefix}.<context>.>). Delivery is at "
                "least once; consumers de-duplicate on the envelope id."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


if __name__ == "__main__":
    print(json.dumps(asyncapi_document(), indent=2))
