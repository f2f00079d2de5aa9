"""The composition runner and the catalog cache as units: upstreams are ``httpx`` mock
transports (the edge), everything else is the real code. The flows over real services,
processes stopped and started, are in ``tests/e2e/test_compose_flow.py``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import msgspec
import pytest

from medley_core.http import CircuitBreaker, UpstreamClient
from medley_gateway.compose.cache import CatalogCache
from medley_gateway.compose.declare import (
    Batch,
    Call,
    Composition,
    Context,
    Part,
    PrimaryUnavailable,
    Runner,
    UpstreamAnswered,
)
from medley_gateway.compose.reads import COMPOSITIONS, PLAYLIST

Handler = Any


def client(name: str, handler: Handler) -> UpstreamClient:
    async def sleep(_: float) -> None:
        return None

    return UpstreamClient(
        name,
        f"http://{name}.test",
        transport=httpx.MockTransport(handler),
        retries=1,
        breaker=CircuitBreaker(failure_threshold=100),
        sleep=sleep,
    )


def ok(body: Any) -> httpx.Response:
    return httpx.Response(200, json=body)


def composition(*parts: Part) -> Composition:
    def build(context: Context) -> dict[str, Any]:
        return {part.name: context[part.name] for part in parts}

    return Composition(
        path="/test",
        summary="test",
        description="test",
        parts=parts,
        build=build,
        response=dict,
        user_only=False,
    )


def live_cache(**kwargs: Any) -> CatalogCache:
    cache = CatalogCache(ttl_s=kwargs.pop("ttl_s", 60.0), max_entries=10_000, **kwargs)
    cache.set_live(True)
    return cache


PRIMARY = Part(name="main", upstream="a", call=lambda c: Call("GET", "/main"), fills=("*",),
               required=True)  # fmt: skip
EXTRA = Part(name="extra", upstream="b", call=lambda c: Call("GET", "/extra"), fills=("extra",))


def test_a_composition_declares_a_primary_part_and_known_dependencies() -> None:
    with pytest.raises(ValueError, match="no part is required"):
        composition(EXTRA)
    waiting = Part(name="late", upstream="b", call=lambda c: None, fills=(), after=("nope",))
    with pytest.raises(ValueError, match="waits for"):
        composition(PRIMARY, waiting)
    # The shipped compositions all pass these checks and name what they fill.
    for declared in COMPOSITIONS:
        assert all(part.fills for part in declared.parts), declared.path


async def test_an_optional_part_that_fails_is_named_and_left_empty() -> None:
    runner = Runner(
        {"a": client("a", lambda r: ok({"x": 1})), "b": client("b", lambda r: httpx.Response(503))},
        live_cache(),
        deadline_s=5,
    )
    body, degraded = await runner.run(composition(PRIMARY, EXTRA), Context({}, {}, False), None)
    assert body == {"main": {"x": 1}, "extra": None}
    [missing] = degraded
    assert (missing.upstream, missing.part, missing.fields) == ("b", "extra", ("extra",))
    assert "503" in missing.reason


async def test_a_part_still_running_at_the_deadline_is_degraded() -> None:
    release = asyncio.Event()

    async def hangs(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return ok({})

    runner = Runner(
        {"a": client("a", lambda r: ok({"x": 1})), "b": client("b", hangs)},
        live_cache(),
        deadline_s=0.2,
    )
    body, degraded = await runner.run(composition(PRIMARY, EXTRA), Context({}, {}, False), None)
    release.set()
    assert body["main"] == {"x": 1}
    assert [d.part for d in degraded] == ["extra"]
    assert "deadline" in degraded[0].reason


async def test_the_primary_part_missing_is_a_503_with_retry_after() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    runner = Runner({"a": client("a", refused), "b": client("b", lambda r: ok({}))},
                    live_cache(), deadline_s=5)  # fmt: skip
    with pytest.raises(PrimaryUnavailable) as raised:
        await runner.run(composition(PRIMARY, EXTRA), Context({}, {}, False), None)
    assert raised.value.status == 503
    assert raised.value.extensions["upstream"] == "a"
    assert int(raised.value.headers["Retry-After"]) >= 1


async def test_the_primary_parts_own_client_error_is_the_answer() -> None:
    runner = Runner({"a": client("a", lambda r: httpx.Response(404, json={"status": 404})),
                     "b": client("b", lambda r: ok({}))}, live_cache(), deadline_s=5)  # fmt: skip
    with pytest.raises(UpstreamAnswered) as raised:
        await runner.run(composition(PRIMARY, EXTRA), Context({}, {}, False), None)
    assert raised.value.response.status_code == 404


async def test_user_parts_are_left_out_for_an_anonymous_caller_and_sent_the_token() -> None:
    seen: list[str | None] = []

    def mine(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return ok({"mine": True})

    personal = Part(name="mine", upstream="b", call=lambda c: Call("GET", "/mine"),
                    fills=("mine",), for_user=True)  # fmt: skip
    runner = Runner({"a": client("a", lambda r: ok({})), "b": client("b", mine)},
                    live_cache(), deadline_s=5)  # fmt: skip
    body, degraded = await runner.run(composition(PRIMARY, personal), Context({}, {}, False), None)
    assert body["mine"] is None
    assert degraded == []
    assert seen == []
    body, _ = await runner.run(composition(PRIMARY, personal), Context({}, {}, True), "Bearer t")
    assert body["mine"] == {"mine": True}
    assert seen == ["Bearer t"]


async def test_a_batch_asks_once_per_chunk_and_the_cache_for_the_rest() -> None:
    asked: list[list[str]] = []

    def catalog(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)["ids"]
        asked.append(ids)
        return ok({"items": [{"id": i} for i in ids if i != "gone"]})

    ids = [f"t{i}" for i in range(2500)]
    tracks = Part(
        name="tracks",
        upstream="c",
        call=lambda c: Batch("/tracks/batch", [*ids, "gone"], key="ids",
                             index=lambda a: {i["id"]: i for i in a["items"]}),
        fills=("details",),
        after=("main",),
        cached=True,
    )  # fmt: skip
    runner = Runner({"a": client("a", lambda r: ok({})), "c": client("c", catalog)},
                    live_cache(), deadline_s=5)  # fmt: skip
    body, _ = await runner.run(composition(PRIMARY, tracks), Context({}, {}, False), None)
    assert sorted(len(chunk) for chunk in asked) == [501, 1000, 1000]
    assert body["tracks"]["t0"] == {"id": "t0"}
    assert body["tracks"]["gone"] is None
    asked.clear()
    again, _ = await runner.run(composition(PRIMARY, tracks), Context({}, {}, False), None)
    assert asked == []
    assert again == body


async def test_reads_missing_the_same_ids_share_one_call_unless_the_cache_was_emptied() -> None:
    """Entries expiring under load: the reads in flight wait for the one call already
    asking for their ids. A read begun after a catalog change never takes an answer
    fetched before it (that answer may be what the change made stale)."""
    calls: list[list[str]] = []
    answer_now = asyncio.Event()
    called = [asyncio.Event() for _ in range(3)]

    async def catalog(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)["ids"]
        calls.append(ids)
        call = len(calls)
        called[call - 1].set()
        await answer_now.wait()
        return ok({"items": [{"id": i, "call": call} for i in ids]})

    tracks = Part(
        name="tracks",
        upstream="c",
        call=lambda c: Batch("/tracks/batch", ["t1", "t2"], key="ids",
                             index=lambda a: {i["id"]: i for i in a["items"]}),
        fills=("details",),
        after=("main",),
        cached=True,
    )  # fmt: skip
    cache = live_cache()
    runner = Runner({"a": client("a", lambda r: ok({})), "c": client("c", catalog)},
                    cache, deadline_s=5)  # fmt: skip
    read = composition(PRIMARY, tracks)

    def run() -> asyncio.Task[Any]:
        return asyncio.create_task(runner.run(read, Context({}, {}, False), None))

    first, second = run(), run()
    await called[0].wait()
    cache.clear()  # a catalog change: what the first call brings may be stale
    third = run()
    await called[1].wait()
    answer_now.set()
    (a, _), (b, _), (c, _) = await asyncio.gather(first, second, third)
    assert len(calls) == 2  # the second read waited for the first's call; the third asked
    assert a["tracks"] == b["tracks"] == {"t1": {"id": "t1", "call": 1},
                                          "t2": {"id": "t2", "call": 1}}  # fmt: skip
    assert c["tracks"]["t1"] == {"id": "t1", "call": 2}


async def test_a_read_waiting_on_a_failed_call_asks_itself() -> None:
    calls = 0
    go, first_call = asyncio.Event(), asyncio.Event()

    async def catalog(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        first_call.set()
        failing = calls == 1
        await go.wait()
        if failing:
            return httpx.Response(500, json={"title": "broken"})
        return ok({"items": [{"id": "t1"}]})

    tracks = Part(name="tracks", upstream="c",
                  call=lambda c: Batch("/tracks/batch", ["t1"], key="ids",
                                       index=lambda a: {i["id"]: i for i in a["items"]}),
                  fills=("details",), after=("main",), cached=True)  # fmt: skip
    upstream = UpstreamClient("c", "http://c.test", transport=httpx.MockTransport(catalog),
                              retries=0, breaker=CircuitBreaker(failure_threshold=100))  # fmt: skip
    runner = Runner({"a": client("a", lambda r: ok({})), "c": upstream}, live_cache(),
                    deadline_s=5)  # fmt: skip
    read = composition(PRIMARY, tracks)
    first = asyncio.create_task(runner.run(read, Context({}, {}, False), None))
    await first_call.wait()
    second = asyncio.create_task(runner.run(read, Context({}, {}, False), None))
    await asyncio.sleep(0.05)
    assert calls == 1  # waiting on the first's call
    go.set()
    (a, degraded_a), (b, degraded_b) = await asyncio.gather(first, second)
    assert [d.part for d in degraded_a] == ["tracks"]
    assert a["tracks"] is None
    assert degraded_b == []
    assert b["tracks"] == {"t1": {"id": "t1"}}
    assert calls == 2


def test_the_cache_keeps_nothing_fetched_before_it_was_emptied() -> None:
    cache = live_cache()
    started = cache.generation
    cache.clear()  # a catalog event arrives while a read is under way
    cache.put("k", "stale", started)
    assert cache.get("k") == (False, None)
    cache.put("k", "fresh", cache.generation)
    assert cache.get("k") == (True, "fresh")


def test_the_cache_serves_nothing_while_not_following_the_catalog() -> None:
    cache = live_cache()
    cache.put("k", "v", cache.generation)
    cache.set_live(False)  # the feed paused: events may be missed
    assert cache.get("k") == (False, None)
    cache.put("k", "v", cache.generation)
    assert len(cache) == 0


def test_cache_entries_expire() -> None:
    now = [0.0]
    cache = live_cache(ttl_s=5.0, clock=lambda: now[0])
    cache.put("k", "v", cache.generation)
    now[0] = 4.9
    assert cache.get("k") == (True, "v")
    now[0] = 5.1
    assert cache.get("k") == (False, None)


async def test_an_answer_of_another_shape_leaves_its_dependents_missing() -> None:
    """The primary part answered, but without what a later part's call needs."""
    after = Part(name="after", upstream="b", call=lambda c: Call("GET", c["main"]["nope"]),
                 fills=("after",), after=("main",))  # fmt: skip
    runner = Runner({"a": client("a", lambda r: ok({"x": 1})), "b": client("b", lambda r: ok({}))},
                    live_cache(), deadline_s=5)  # fmt: skip
    body, degraded = await runner.run(composition(PRIMARY, after), Context({}, {}, False), None)
    assert body == {"main": {"x": 1}, "after": None}
    assert [d.part for d in degraded] == ["after"]
    assert "not understood" in degraded[0].reason


async def test_the_composed_playlist_passes_the_upstreams_json_through_with_its_fields_added() -> (
    None
):
    """The playlist items and catalog tracks are passed on as written (never decoded);
    what the answer shows is each item's every field, then ``details`` and the plays."""

    track = {"title": 'Ünïcode "quoted" \\ song', "duration_ms": 1, "nested": {"a": [1, {}]}}
    items = [
        {"position": i, "id": f"i{i}", "track_id": f"t{i}", "available": i != 2, "track": track}
        for i in range(4)
    ]
    expanded = {"playlist": {"id": "p", "name": "mix", "track_count": 4},
                "items": {"items": items, "next_cursor": None, "snapshot_id": "s"}}  # fmt: skip
    catalog_tracks = {"t0": {"id": "t0", "album": {"title": "A"}}, "t1": {"id": "t1"},
                      "t3": {"id": "t3"}}  # fmt: skip

    def catalog(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)["ids"]
        found = [catalog_tracks[i] for i in ids if i in catalog_tracks]
        return ok({"items": found, "redirects": {"t3": "t1"}})

    def ingestion(request: httpx.Request) -> httpx.Response:
        return ok({"items": [{"track_id": "t1", "play_count": 2, "ms_played": 9,
                              "last_played_at": "2026-01-02T03:04:05Z"}]})  # fmt: skip

    runner = Runner(
        {
            "playlists": client("playlists", lambda r: ok(expanded)),
            "catalog": client("catalog", catalog),
            "ingestion": client("ingestion", ingestion),
        },
        live_cache(),
        deadline_s=5,
    )
    context = Context({"playlist_id": "p"}, {"expand": "tracks"}, True)
    body, degraded = await runner.run(PLAYLIST, context, "Bearer t")
    assert degraded == []
    shown = json.loads(msgspec.json.encode(body))
    assert {k: v for k, v in shown.items() if k != "items"} == expanded["playlist"]
    assert [list(item) for item in shown["items"]] == [
        [*items[0], "details", "my_play_count", "my_last_played_at"]
    ] * 4
    assert [item["details"] for item in shown["items"]] == [
        catalog_tracks["t0"], catalog_tracks["t1"], None, catalog_tracks["t1"]
    ]  # fmt: skip
    assert [item["my_play_count"] for item in shown["items"]] == [0, 2, 0, 0]
    assert shown["items"][1]["my_last_played_at"] == "2026-01-02T03:04:05Z"
    assert all(item["track"] == track for item in shown["items"])
    assert [item["available"] for item in shown["items"]] == [True, True, False, True]

    anonymous, _ = await runner.run(PLAYLIST, Context({"playlist_id": "p"}, {}, False), None)
    plays = json.loads(msgspec.json.encode(anonymous))["items"]
    assert {(i["my_play_count"], i["my_last_played_at"]) for i in plays} == {(None, None)}
