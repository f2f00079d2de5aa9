"""The keep-alive transport against a real HTTP/1.1 server on a socket (asyncio's)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from medley_core.http import UpstreamClient
from medley_core.http_transport import KeepAliveTransport, keep_alive_transport

Reply = Callable[[bytes, bytes], Awaitable[bytes | None]]


@dataclass
class Server:
    port: int
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    return head, body


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Reply], Awaitable[Server]]]:
    servers: list[asyncio.Server] = []

    async def start(reply: Reply) -> Server:
        state = Server(0)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            state.connections += 1
            while (request := await read_request(reader)) is not None:
                state.requests.append(request[0] + request[1])
                answer = await reply(*request)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        state.port = server.sockets[0].getsockname()[1]
        return state

    yield start
    for server in servers:
        server.close()


def client(port: int, **kwargs: float) -> httpx.AsyncClient:
    transport = KeepAliveTransport(max_connections=4, fallback=httpx.AsyncHTTPTransport())
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", transport=transport, timeout=kwargs.get("t", 5.0)
    )


def ok(body: bytes, *extra: bytes) -> bytes:
    headers = b"".join(h + b"\r\n" for h in extra)
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + headers
        + b"content-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


async def test_answers_come_back_whole_over_one_kept_alive_connection(serve) -> None:  # type: ignore[no-untyped-def]
    async def reply(head: bytes, body: bytes) -> bytes:
        return ok(b'{"echo":"' + body + b'"}', b'etag: "v1"')

    server = await serve(reply)
    async with client(server.port) as http:
        for i in range(5):
            response = await http.post("/things?x=1", content=f"n{i}".encode())
            assert response.status_code == 200
            assert response.json() == {"echo": f"n{i}"}
            assert response.headers["etag"] == '"v1"'
    assert server.connections == 1
    assert server.requests[0].startswith(b"POST /things?x=1 HTTP/1.1\r\n")
    assert b"content-length: 2" in server.requests[0].lower()


async def test_a_chunked_answer_is_read_to_its_end(serve) -> None:  # type: ignore[no-untyped-def]
    async def reply(head: bytes, body: bytes) -> bytes:
        return (
            b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )

    server = await serve(reply)
    async with client(server.port) as http:
        response = await http.get("/missing")
        again = await http.get("/missing")
    assert response.status_code == 404
    assert response.content == b"hello world"
    assert again.content == b"hello world"
    assert server.connections == 1


async def test_a_connection_the_server_closed_is_replaced_for_a_read(serve) -> None:  # type: ignore[no-untyped-def]
    answered = 0

    async def reply(head: bytes, body: bytes) -> bytes | None:
        nonlocal answered
        answered += 1
        # The first connection serves one request and then closes without answering.
        return ok(b"{}") if answered != 2 else None

    server = await serve(reply)
    async with client(server.port) as http:
        assert (await http.get("/a")).status_code == 200
        await asyncio.sleep(0)  # the server's close reaches us, or not: both must work
        assert (await http.get("/b")).status_code == 200
    assert server.connections == 2


async def test_a_write_the_server_dropped_unanswered_is_not_repeated(serve) -> None:  # type: ignore[no-untyped-def]
    answered = 0

    async def reply(head: bytes, body: bytes) -> bytes | None:
        nonlocal answered
        answered += 1
        return ok(b"{}") if answered == 1 else None

    server = await serve(reply)
    async with client(server.port) as http:
        assert (await http.get("/a")).status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post("/b", content=b"x")
    assert sum(r.startswith(b"POST") for r in server.requests) == 1


async def test_refused_and_slow_upstreams_raise_httpx_errors(serve) -> None:  # type: ignore[no-untyped-def]
    async def never(head: bytes, body: bytes) -> bytes:
        await asyncio.Event().wait()
        return b""

    server = await serve(never)
    async with client(server.port, t=0.2) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get("/slow")
    probe = await serve(never)
    port = probe.port
    async with client(1) as http:  # nothing listens on port 1
        with pytest.raises(httpx.ConnectError):
            await http.get("/")
    assert port > 0


def _sent(request: bytes) -> tuple[bytes, list[bytes], bytes]:
    """A request as a server reads it: its line, its headers (any order, any case), body."""
    head, _, body = request.partition(b"\r\n\r\n")
    line, *headers = head.split(b"\r\n")
    return line, sorted(h.lower() for h in headers), body


async def test_the_upstream_client_writes_what_httpx_would(serve) -> None:  # type: ignore[no-untyped-def]
    """UpstreamClient writes its requests itself onto this transport; a server must not
    see a byte of difference from the same request sent through httpx."""

    async def reply(head: bytes, body: bytes) -> bytes:
        return ok(b'{"ok":true}', b'etag: "v1"', b"link: </next>; rel=next")

    server = await serve(reply)
    url = f"http://127.0.0.1:{server.port}"
    direct = UpstreamClient("direct", url)
    through_httpx = UpstreamClient(
        "httpx", url, transport=keep_alive_transport(httpx.Limits(max_connections=4))
    )
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/me", {"authorization": "Bearer abc"}),
        ("GET", "/albums", {"params": {"artist": "a b&c", "limit": 100, "mine": True}}),
        ("POST", "/tracks/batch", {"json": {"ids": ["1", "2"]}}),
        ("POST", "/empty", {}),
        ("PUT", "/x", {"json": [1], "headers": {"Content-Type": "application/merge-patch+json"}}),
        ("DELETE", "/y?z=1", {"content": b"hi", "headers": {"accept": "text/plain"}}),
        # What httpx re-encodes or rewrites: these go through httpx itself.
        ("GET", "/a b/../c?q=|", {}),
        ("GET", "/q?a=1", {"params": {"b": 2}}),
    ]
    try:
        for method, path, options in calls:
            server.requests.clear()
            mine = await direct.request(method, path, **options)
            theirs = await through_httpx.request(method, path, **options)
            assert _sent(server.requests[0]) == _sent(server.requests[1]), (method, path)
            assert (mine.status_code, mine.json()) == (theirs.status_code, theirs.json())
            assert mine.headers["etag"] == theirs.headers["etag"] == '"v1"'
            assert mine.headers.raw == theirs.headers.raw
    finally:
        await direct.aclose()
        await through_httpx.aclose()
    assert direct._direct is not None
    assert through_httpx._direct is None
