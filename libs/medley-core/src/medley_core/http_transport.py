"""A lean HTTP/1.1 keep-alive transport for calls between Medley's own services.

httpx's default transport (httpcore) spends most of a pass-through request's CPU on its
pool bookkeeping (every request walks every pooled connection and asks each whether it has
expired) and on h11. Between Medley's processes the traffic is plain HTTP/1.1 over
loopback or a private network, answered by uvicorn: this transport writes the request in
one go, parses the answer with ``httptools`` (uvicorn's own C parser) and keeps idle
connections in a LIFO stack. What it does not handle (TLS, streamed request bodies,
``HEAD``, protocol upgrades) goes through httpx's own transport unchanged.

It raises httpx's exceptions (``ConnectError``, ``ConnectTimeout``, ``ReadTimeout``,
``WriteTimeout``, ``PoolTimeout``, ``RemoteProtocolError``), so retries and circuit
breakers above it (:class:`medley_core.http.UpstreamClient`) judge failures as before.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

import httptools
import httpx

READ_CHUNK = 64 * 1024
# uvicorn closes a keep-alive connection idle for 5 s: drop ours well before, so a request
# is never written to a connection the server is closing.
MAX_IDLE_S = 2.0
_REUSABLE_RETRY_METHODS = frozenset({b"GET", b"OPTIONS"})


class _Answer:
    """httptools' callbacks: the status, headers and body of one response."""

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.complete = False
        self.encoded = False
        self.keep_alive = False
        self.status = 0
        self.parser: Any = None

    def on_headers_complete(self) -> None:
        # Asked here: once the message is complete the parser has reset its flags.
        self.keep_alive = self.parser.should_keep_alive()
        self.status = self.parser.get_status_code()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        if name.lower() == b"content-encoding" and value.strip().lower() != b"identity":
            self.encoded = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = time.monotonic()

    def usable(self, now: float) -> bool:
        return (
            now - self.idle_since < MAX_IDLE_S
            and not self.writer.is_closing()
            and not self.reader.at_eof()
        )

    def close(self) -> None:
        self.writer.close()


class _Stale(Exception):
    """A reused connection ended before a single byte of the answer: try a fresh one."""


class KeepAliveTransport(httpx.AsyncBaseTransport):
    """Plain-HTTP/1.1 keep-alive calls; anything else through ``fallback``."""

    def __init__(self, *, max_connections: int = 100, fallback: httpx.AsyncBaseTransport) -> None:
        self.max_connections = max_connections
        self.fallback = fallback
        self._idle: dict[tuple[str, int], deque[_Connection]] = {}
        self._slots = asyncio.Semaphore(max_connections)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        method = request.method.encode("ascii")
        if request.url.scheme != "http" or method == b"HEAD":
            return await self.fallback.handle_async_request(request)
        try:
            body = request.content
        except httpx.RequestNotRead:  # a streamed body: httpx's transport streams it
            return await self.fallback.handle_async_request(request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        head = _request_head(request, method, body)
        await self._slot(timeouts, request)
        try:
            key = (request.url.host, request.url.port or 80)
            answer = await self._exchange(request, key, method, head + body, timeouts)
        finally:
            self._slots.release()
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=httpx.ByteStream(b"".join(answer.body)),
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def send(
        self,
        key: tuple[str, int],
        method: bytes,
        payload: bytes,
        timeouts: Mapping[str, float | None],
    ) -> httpx.Response:
        """Send ``payload`` (a request's head and body, written by the caller) to ``key``
        and return the answer, read whole: the path of :class:`medley_core.http.
        UpstreamClient`, which writes the request itself instead of building an
        ``httpx.Request`` (URL parsing and header merging were most of a pass-through's
        client-side CPU). The errors are httpx's, as :meth:`handle_async_request`'s."""
        await self._slot(timeouts)
        try:
            answer = await self._exchange(None, key, method, payload, timeouts)
        finally:
            self._slots.release()
        body = answer.body[0] if len(answer.body) == 1 else b"".join(answer.body)
        response = httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=httpx.ByteStream(body),
            extensions={"http_version": b"HTTP/1.1"},
        )
        if answer.encoded:
            await response.aread()  # decoded as httpx decodes it (gzip, deflate)
        else:
            # Read already: what ``aread`` would set, without its decoder chain.
            response._content = body
        return response

    async def _exchange(
        self,
        request: httpx.Request | None,
        key: tuple[str, int],
        method: bytes,
        payload: bytes,
        timeouts: Mapping[str, float | None],
    ) -> _Answer:
        connection = self._reused(key)
        if connection is not None:
            try:
                return await self._send(request, connection, key, payload, timeouts)
            except _Stale:
                if method not in _REUSABLE_RETRY_METHODS:
                    raise httpx.RemoteProtocolError(
                        "the server closed the connection without answering", request=request
                    ) from None
        connection = await self._connect(request, key, timeouts.get("connect"))
        try:
            return await self._send(request, connection, key, payload, timeouts)
        except _Stale:
            raise httpx.RemoteProtocolError(
                "the server closed the connection without answering", request=request
            ) from None

    async def _slot(
        self, timeouts: Mapping[str, float | None], request: httpx.Request | None = None
    ) -> None:
        """A connection slot; the pool timeout is armed only when none is free."""
        if not self._slots.locked():
            await self._slots.acquire()  # free: taken at once, no timer to set and cancel
            return
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("no connection free in time", request=request) from None

    def _reused(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            connection = idle.pop()  # the most recently used: the likeliest still open
            if connection.usable(now):
                return connection
            connection.close()
        return None

    async def _connect(
        self, request: httpx.Request | None, key: tuple[str, int], timeout_s: float | None
    ) -> _Connection:
        try:
            async with asyncio.timeout(timeout_s):
                reader, writer = await asyncio.open_connection(*key, limit=READ_CHUNK)
        except TimeoutError:
            raise httpx.ConnectTimeout("connecting timed out", request=request) from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        return _Connection(reader, writer)

    async def _send(
        self,
        request: httpx.Request | None,
        connection: _Connection,
        key: tuple[str, int],
        payload: bytes,
        timeouts: Mapping[str, float | None],
    ) -> _Answer:
        answer = _Answer()
        parser = answer.parser = httptools.HttpResponseParser(answer)
        received = False
        try:
            writer = connection.writer
            writer.write(payload)
            if writer.transport.get_write_buffer_size():
                # Not all written at once (a large body): wait until it is, in time.
                try:
                    async with asyncio.timeout(timeouts.get("write")):
                        await writer.drain()
                except TimeoutError:
                    raise httpx.WriteTimeout("sending timed out", request=request) from None
            read_s = timeouts.get("read")
            try:
                # One timer for the answer, moved on at every chunk (httpx's read timeout
                # is per chunk): most answers come in one.
                async with asyncio.timeout(read_s) as deadline:
                    while not answer.complete:
                        data = await connection.reader.read(READ_CHUNK)
                        if not data:
                            break
                        received = True
                        try:
                            parser.feed_data(data)
                        except httptools.HttpParserError as exc:
                            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
                        if read_s is not None and not answer.complete:
                            deadline.reschedule(asyncio.get_running_loop().time() + read_s)
            except TimeoutError:
                raise httpx.ReadTimeout("the answer timed out", request=request) from None
            if not answer.complete:
                if not received:
                    raise _Stale
                raise httpx.RemoteProtocolError(
                    "the server closed the connection mid-answer", request=request
                )
        except (ConnectionError, OSError) as exc:
            connection.close()
            if not received:
                raise _Stale from exc
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
        except BaseException:
            connection.close()  # cancelled or failed midway: its state is unknown
            raise
        if answer.keep_alive:
            connection.idle_since = time.monotonic()
            self._idle.setdefault(key, deque()).append(connection)
        else:
            connection.close()
        return answer

    async def aclose(self) -> None:
        for idle in self._idle.values():
            while idle:
                idle.pop().close()
        await self.fallback.aclose()


def _request_head(request: httpx.Request, method: bytes, body: bytes) -> bytes:
    """The request line and headers, as httpx built them (Host, Content-Length included)."""
    lines = [method, b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    has_length = False
    for name, value in request.headers.raw:
        if name.lower() == b"content-length":
            has_length = True
        lines += [name, b": ", value, b"\r\n"]
    if body and not has_length:
        lines += [b"Content-Length: ", str(len(body)).encode("ascii"), b"\r\n"]
    lines.append(b"\r\n")
    return b"".join(lines)


def keep_alive_transport(limits: httpx.Limits, **fallback_options: Any) -> KeepAliveTransport:
    """The transport an upstream client uses by default: this one, over httpx's own."""
    max_connections = limits.max_connections or 100
    return KeepAliveTransport(
        max_connections=max_connections,
        fallback=httpx.AsyncHTTPTransport(limits=limits, **fallback_options),
    )
