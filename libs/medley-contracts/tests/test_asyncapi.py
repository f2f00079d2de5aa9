"""The AsyncAPI document names every published event with its real payload schema."""

from __future__ import annotations

from medley_contracts.asyncapi import all_event_types, asyncapi_document
from medley_contracts.users import USER_DELETED, USER_REGISTERED


def test_every_contract_event_is_a_channel() -> None:
    document = asyncapi_document()
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert "medley.users.user.registered" in addresses
    assert "medley.users.user.deleted" in addresses
    assert len(addresses) == len(all_event_types())
    for operation in document["operations"].values():
        assert operation["action"] == "send"


def test_message_payload_is_the_envelope_around_the_event_data() -> None:
    document = asyncapi_document(prefix="test")
    key = f"{USER_REGISTERED.name.replace('.', '_')}_v1"
    assert document["channels"][key]["address"] == "test.users.user.registered"
    payload = document["components"]["messages"][key]["payload"]
    assert payload["properties"]["type"] == {"const": "users.user.registered"}
    assert set(payload["required"]) >= {"id", "type", "version", "occurred_at", "data"}
    data = document["components"]["schemas"][
        payload["properties"]["data"]["$ref"].rsplit("/", 1)[1]
    ]
    assert set(data["properties"]) == set(USER_REGISTERED.payload.model_fields)


def test_event_types_are_found_once() -> None:
    names = [(e.name, e.version) for e in all_event_types()]
    assert len(names) == len(set(names))
    assert (USER_DELETED.name, 1) in names
