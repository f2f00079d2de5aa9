"""Composed reads as data: a :class:`Composition` is a list of :class:`Part` s, each naming
the upstream it asks, the call it makes, whether the answer can do without it, and the
fields of the answer it fills; :func:`run` makes the calls and says what is missing.

How a composition runs:

* every part starts at once, except those waiting ``after`` others (the calls that need
  their ids: a playlist's items before its tracks' details); a part whose call is a
  :class:`Batch` asks for every id in one call (chunked at the upstream's limit, chunks
  concurrently), never one call per track;
* the whole composition has a deadline (``compose_deadline_s``) besides each upstream's
  own timeout, retries of reads and circuit breaker (:class:`medley_core.http.UpstreamClient`);
* an optional part that fails (unreachable, open circuit, timeout, an error answer, the
  deadline) leaves its fields empty and is named in ``meta.degraded`` (upstream, part,
  fields, reason); a required part that fails makes the answer a 503 problem with
  ``Retry-After``; a required part's own 4xx (an unknown playlist: 404) is the answer;
* parts ``for_user`` ask as the caller (their token is forwarded) and are left out, not
  degraded, for an anonymous caller;
* ``cached`` parts (catalog reads) go through the :class:`~medley_gateway.compose.cache.
  CatalogCache`, per entity for batches.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import msgspec

from medley_core.aio import cancel_and_wait
from medley_core.errors import Problem, ServiceUnavailable
from medley_core.http import UpstreamClient, UpstreamTimeout, UpstreamUnavailable
from medley_gateway.compose.cache import CatalogCache

_decode = msgspec.json.Decoder().decode
#: How a part reads its upstream's answer (the body's bytes). Plain JSON unless declared:
#: what a composition passes on as it is can stay :class:`msgspec.Raw` (never decoded
#: into Python objects, written back as the upstream's bytes).
Reader = Callable[[bytes], Any]
# What reading an upstream's answer of an unexpected shape raises.
UNREADABLE = (KeyError, IndexError, TypeError, AttributeError, ValueError)


@dataclass(frozen=True)
class Call:
    """One upstream request: ``GET /albums/{id}`` with a query, or a POST with a JSON body."""

    method: Literal["GET", "POST"]
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None


@dataclass(frozen=True)
class Batch:
    """A batch lookup by id: ``POST path`` with ``{key: [ids]}``, at most ``chunk`` ids a
    call. ``index`` turns one answer into ``{asked id: item}``; the part's result is that
    mapping for every id asked (an id the upstream does not know maps to None)."""

    path: str
    ids: Sequence[str]
    key: str
    index: Callable[[Any], dict[str, Any]]
    chunk: int = 1000
    read: Reader = _decode


Request = Call | Batch | None


@dataclass
class Context:
    """What a part's call and the composition's builder read: the public path's and
    query's parameters, whether a user called, and the parts' results so far (a missing
    or left-out part's result is None)."""

    path: Mapping[str, Any]
    query: Mapping[str, str]
    user: bool
    #: The query string as the caller sent it (a part passing it on as it is).
    raw_query: str = ""
    results: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, part: str) -> Any:
        return self.results.get(part)


@dataclass(frozen=True, kw_only=True)
class Part:
    """One upstream call of a composition, and what the answer takes from it."""

    name: str
    upstream: str
    call: Callable[[Context], Request]
    fills: tuple[str, ...]
    required: bool = False
    after: tuple[str, ...] = ()
    for_user: bool = False
    #: The caller's Authorization goes along (``for_user`` parts always send it).
    authorize: bool = False
    cached: bool = False
    #: How a :class:`Call`'s answer is read (a :class:`Batch` says its own).
    read: Reader = _decode


@dataclass(frozen=True)
class Degraded:
    """An optional part that is missing from an answer, as ``meta.degraded`` shows it."""

    upstream: str
    part: str
    fields: tuple[str, ...]
    reason: str

    def shown(self) -> dict[str, Any]:
        return {
            "upstream": self.upstream,
            "part": self.part,
            "fields": list(self.fields),
            "reason": self.reason,
        }


@dataclass(frozen=True, kw_only=True)
class Composition:
    """A composed read: its public path, who may call it, its parts, and how the parts'
    results become the answer (``build`` reads :class:`Context`; ``meta`` is added)."""

    path: str
    summary: str
    description: str
    parts: tuple[Part, ...]
    build: Callable[[Context], dict[str, Any]]
    response: type[Any]
    user_only: bool
    tags: tuple[str, ...] = ()
    #: When not None: composed only if this says so of the query; else the request passes
    #: through to ``plain`` (upstream, path template) as it would without composition.
    composes_when: Callable[[Mapping[str, str]], bool] | None = None
    plain: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        names = [part.name for part in self.parts]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.path}: a part is declared twice")
        for part in self.parts:
            unknown = set(part.after) - set(names[: names.index(part.name)])
            if unknown:
                raise ValueError(f"{self.path}: {part.name} waits for {sorted(unknown)}")
        if not any(part.required for part in self.parts):
            raise ValueError(f"{self.path}: no part is required (which one is primary?)")


class UpstreamAnswered(Exception):
    """A required part's upstream answered a client error: that answer is the answer."""

    def __init__(self, upstream: str, response: httpx.Response) -> None:
        super().__init__(f"{upstream} answered {response.status_code}")
        self.upstream = upstream
        self.response = response


class PrimaryUnavailable(ServiceUnavailable):
    """A required part is missing: nothing worth answering (503, ``Retry-After``)."""

    slug = "upstream-unavailable"

    def __init__(self, part: Part, reason: str, retry_after_s: float) -> None:
        super().__init__(
            f"the {part.upstream} service, which this answer needs, is unavailable ({reason})",
            headers={"Retry-After": str(max(1, math.ceil(retry_after_s)))},
            upstream=part.upstream,
            part=part.name,
        )


class _Failed(Exception):
    """An upstream call of a part failed; ``reason`` says how."""

    def __init__(self, reason: str, retry_after_s: float = 1.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


@dataclass
class Runner:
    """Runs compositions against the upstreams' clients, with the catalog cache."""

    clients: Mapping[str, UpstreamClient]
    cache: CatalogCache
    deadline_s: float
    #: The batch lookups of cached parts under way: (cache generation, their answer) by id.
    _fetching: dict[tuple[str, str, str], tuple[int, asyncio.Future[dict[str, Any] | None]]] = (
        field(default_factory=dict, init=False, repr=False)
    )

    async def run(
        self, composition: Composition, context: Context, authorization: str | None
    ) -> tuple[dict[str, Any], list[Degraded]]:
        """The answer (without ``meta``) and the optional parts missing from it."""
        degraded: list[Degraded] = []
        tasks: dict[str, asyncio.Task[None]] = {}

        async def execute(part: Part) -> None:
            for name in part.after:
                await asyncio.shield(tasks[name])  # a waiter's cancellation spares the awaited
                if name not in context.results:
                    return self._miss(part, f"it needs {name}", degraded)
            if part.for_user and not context.user:
                context.results[part.name] = None  # left out: nothing to ask as nobody
                return None
            try:
                context.results[part.name] = await self._ask(part, context, authorization)
            except _Failed as failed:
                if part.required:
                    raise PrimaryUnavailable(part, failed.reason, failed.retry_after_s) from None
                self._miss(part, failed.reason, degraded)
            return None

        for part in composition.parts:
            tasks[part.name] = asyncio.create_task(execute(part), name=f"compose-{part.name}")
        done, pending = await asyncio.wait(
            tasks.values(), timeout=self.deadline_s, return_when=asyncio.FIRST_EXCEPTION
        )
        failure = next((t.exception() for t in done if t.exception() is not None), None)
        await cancel_and_wait(list(pending))
        if failure is not None:
            raise failure
        for part in composition.parts:
            if tasks[part.name] in pending:
                reason = f"no answer within the {self.deadline_s:g} s deadline"
                if part.required:
                    raise PrimaryUnavailable(part, reason, 1.0)
                self._miss(part, reason, degraded)
        try:
            return composition.build(context), degraded
        except UNREADABLE as exc:
            primary = next(part for part in composition.parts if part.required)
            raise PrimaryUnavailable(
                primary, f"its answer was not understood ({exc!r})", 1.0
            ) from None

    @staticmethod
    def _miss(part: Part, reason: str, degraded: list[Degraded]) -> None:
        degraded.append(Degraded(part.upstream, part.name, part.fills, reason))
        return None

    async def _ask(self, part: Part, context: Context, authorization: str | None) -> Any:
        try:
            request = part.call(context)
        except UNREADABLE as exc:
            # An answer it waits for lacked what the call needs (an upstream answering
            # another shape than its contract): this part is missing, not the answer.
            raise _Failed(f"an answer it needs was not understood ({exc!r})") from None
        if request is None:
            return None
        auth = authorization if (part.for_user or part.authorize) else None
        if isinstance(request, Batch):
            return await self._batch(part, request, auth)
        cacheable = part.cached and request.method == "GET"
        key = (part.upstream, request.path, tuple(sorted((request.params or {}).items())))
        if cacheable:
            found, value = self.cache.get(key)
            if found:
                return value
        generation = self.cache.generation
        value = await self._call(part, request, auth, part.read)
        if cacheable:
            self.cache.put(key, value, generation)
        return value

    async def _batch(self, part: Part, batch: Batch, auth: str | None) -> dict[str, Any]:
        asked = list(dict.fromkeys(batch.ids))
        if not part.cached:
            return await self._fetch(part, batch, asked, auth)
        found, asked = self.cache.get_many(part.upstream, batch.path, asked)
        if not asked:
            return found
        generation = self.cache.generation
        # Ids another read is fetching already (since the cache was last emptied, and for
        # nobody in particular): its answer is awaited rather than asked for again; when
        # entries expire under load, one call refills them, not one per read in flight.
        waits: dict[asyncio.Future[dict[str, Any] | None], list[str]] = {}
        own: list[str] = []
        for ident in asked:
            pending = self._fetching.get((part.upstream, batch.path, ident))
            if auth is None and pending is not None and pending[0] == generation:
                waits.setdefault(pending[1], []).append(ident)
            else:
                own.append(ident)
        fetched: dict[str, Any] = {}
        if own:
            # A copy: the dict itself is what the reads waiting on this one are given.
            fetched = dict(await self._fetch_shared(part, batch, own, auth, generation))
        again: list[str] = []
        for pending_answer, idents in waits.items():
            shared = await asyncio.shield(pending_answer)
            if shared is None:  # that read's call failed or was cut short: ask ourselves
                again += idents
            else:
                fetched.update({ident: shared.get(ident) for ident in idents})
        if again:
            fetched.update(await self._fetch_shared(part, batch, again, auth, generation))
        return {**found, **fetched}

    async def _fetch_shared(
        self, part: Part, batch: Batch, ids: list[str], auth: str | None, generation: int
    ) -> dict[str, Any]:
        """:meth:`_fetch` of a cached part, kept (``generation`` permitting), and offered
        to the reads asking for the same ids meanwhile (None to them if it fails)."""
        keys = [(part.upstream, batch.path, ident) for ident in ids] if auth is None else []
        answer: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        for key in keys:
            self._fetching[key] = (generation, answer)
        try:
            fetched = await self._fetch(part, batch, ids, auth)
            answer.set_result(fetched)
        finally:
            for key in keys:
                if self._fetching.get(key, (0, None))[1] is answer:
                    del self._fetching[key]
            if not answer.done():
                answer.set_result(None)
        self.cache.put_many(part.upstream, batch.path, fetched, generation)
        return fetched

    async def _fetch(
        self, part: Part, batch: Batch, ids: list[str], auth: str | None
    ) -> dict[str, Any]:
        """``ids`` asked in chunks, concurrently: ``{id: item}`` (None: not known)."""
        chunks = [ids[i : i + batch.chunk] for i in range(0, len(ids), batch.chunk)]
        answers = await asyncio.gather(
            *(
                self._call(part, Call("POST", batch.path, json={batch.key: c}), auth, batch.read)
                for c in chunks
            )
        )
        fetched: dict[str, Any] = {ident: None for ident in ids}
        for answer in answers:
            fetched.update(batch.index(answer))
        return fetched

    async def _call(self, part: Part, request: Call, auth: str | None, read: Reader) -> Any:
        client = self.clients[part.upstream]
        try:
            response = await client.request(
                request.method,
                request.path,
                params=request.params,
                json=request.json,
                authorization=auth,
            )
        except UpstreamUnavailable as exc:
            retry_after = float(exc.headers.get("Retry-After", "1"))
            raise _Failed(exc.detail, retry_after) from None
        except UpstreamTimeout as exc:
            raise _Failed(exc.detail) from None
        except Problem as exc:  # anything else the client raises: the part is missing
            raise _Failed(exc.detail) from None
        if response.status_code >= 500:
            raise _Failed(f"the {part.upstream} service answered {response.status_code}")
        if response.status_code >= 400:
            if part.required:
                raise UpstreamAnswered(part.upstream, response)
            raise _Failed(f"the {part.upstream} service answered {response.status_code}")
        try:
            return read(response.content)
        except msgspec.ValidationError as exc:  # JSON, of another shape than declared
            reason = f"the {part.upstream} service's answer was not understood ({exc})"
            raise _Failed(reason) from None
        except msgspec.DecodeError:
            raise _Failed(f"the {part.upstream} service answered no JSON") from None
