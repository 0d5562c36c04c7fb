"""The proxy's upstream client (httptools): framing, pooling, streaming, and its failures.

Each test talks to a scripted raw asyncio server on loopback that answers with exactly the bytes
the test gives, so every way a real upstream may frame or break a response is covered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from faultkit.doors.flow import Capture
from faultkit.doors.proxy.execute import encode_live_head
from faultkit.doors.proxy.upstream import UpstreamError, Upstreams
from faultkit.exchange import Request

Script = Callable[[bytes, asyncio.Transport, int], None]


class _Scripted(asyncio.Protocol):
    """Calls ``script(head, transport, n)`` for the n-th request head on the server."""

    def __init__(self, server: ScriptedServer) -> None:
        self.server = server
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.server.connections += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            self.server.heads.append(head)
            self.server.script(head, self.transport, len(self.server.heads))  # type: ignore[arg-type]


class ScriptedServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.heads: list[bytes] = []
        self.connections = 0

    async def __aenter__(self) -> ScriptedServer:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: _Scripted(self), "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()


def get(url: str, method: str = "GET", **headers: str) -> Request:
    return Request(method=method, url=url, headers=tuple(headers.items()))


async def fetch(client: Upstreams, request: Request) -> Capture:
    """The whole answer, its body kept in the capture (the door reads it chunk by chunk)."""
    capture, response = await client.open(request, keep_body=True)
    try:
        while not response.done:
            await response.wait()
        if response.error is not None:
            raise response.error
    finally:
        response.abort()
    return capture


def reply(data: bytes) -> Script:
    return lambda head, transport, n: transport.write(data)


JSON = b'{"ok": true}'
OK = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%b" % (
    len(JSON),
    JSON,
)


async def test_a_kept_alive_connection_is_reused_for_the_next_request() -> None:
    async with ScriptedServer(reply(OK)) as server:
        client = Upstreams()
        for _ in range(3):
            capture = await fetch(client, get(server.url + "/x?y=1"))
            assert capture.status == 200 and b"".join(capture.chunks) == JSON
            assert capture.head.header("content-type") == "application/json"
        await client.aclose()
    assert server.connections == 1
    assert server.heads[0].startswith(b"GET /x?y=1 HTTP/1.1\r\n")
    assert b"accept-encoding: identity" in server.heads[0]


async def test_hop_by_hop_headers_are_not_forwarded() -> None:
    async with ScriptedServer(reply(OK)) as server:
        client = Upstreams()
        request = get(
            server.url + "/", connection="keep-alive", te="trailers", authorization="Bearer k"
        )
        await fetch(client, request)
        await client.aclose()
    head = server.heads[0].lower()
    assert b"connection:" not in head and b"te:" not in head
    assert b"authorization: bearer k" in head
    assert head.count(b"host:") == 1


async def test_chunks_reach_the_sink_as_they_arrive_not_at_the_end() -> None:
    gate = asyncio.Event()
    pending: list[asyncio.Future[None]] = []

    def script(head: bytes, transport: asyncio.Transport, n: int) -> None:
        transport.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n")

        async def rest() -> None:
            await gate.wait()
            transport.write(b"6\r\nsecond\r\n0\r\n\r\n")

        pending.append(asyncio.ensure_future(rest()))

    async with ScriptedServer(script) as server:
        client = Upstreams()
        capture, response = await client.open(get(server.url + "/sse"))
        got: list[bytes] = []
        response.set_sink(got.append)
        assert response.early == b"first" and not response.done
        gate.set()
        while not response.done:
            await response.wait()
        assert got == [b"second"] and capture.complete
        assert capture.transfer_encoding == b"chunked"
        await client.aclose()


async def test_a_close_delimited_body_ends_at_eof_and_the_connection_is_not_reused() -> None:
    def script(head: bytes, transport: asyncio.Transport, n: int) -> None:
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nall of it")
        transport.close()

    async with ScriptedServer(script) as server:
        client = Upstreams()
        first = await fetch(client, get(server.url + "/"))
        second = await fetch(client, get(server.url + "/"))
        await client.aclose()
    assert b"".join(first.chunks) == b"all of it" and first.complete
    assert b"".join(second.chunks) == b"all of it"
    assert server.connections == 2


async def test_head_response_ends_after_the_head_and_the_connection_is_reused() -> None:
    head_reply = b"HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n"

    def script(head: bytes, transport: asyncio.Transport, n: int) -> None:
        transport.write(head_reply if head.startswith(b"HEAD") else OK)

    async with ScriptedServer(script) as server:
        client = Upstreams()
        capture = await asyncio.wait_for(fetch(client, get(server.url + "/", "HEAD")), 2)
        assert capture.content_length == b"1234" and capture.chunks == []
        after = await asyncio.wait_for(fetch(client, get(server.url + "/")), 2)
        assert b"".join(after.chunks) == JSON
        await client.aclose()
    assert server.connections == 1


async def test_informational_responses_before_the_answer_are_skipped() -> None:
    data = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n" + OK
    async with ScriptedServer(reply(data)) as server:
        client = Upstreams()
        capture = await fetch(client, get(server.url + "/"))
        await client.aclose()
    assert capture.status == 200 and b"".join(capture.chunks) == JSON
    assert capture.head.header("link") is None


async def test_upstream_closing_mid_body_is_an_upstream_error() -> None:
    def script(head: bytes, transport: asyncio.Transport, n: int) -> None:
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this")
        transport.close()

    async with ScriptedServer(script) as server:
        client = Upstreams()
        with pytest.raises(UpstreamError, match="closed by the upstream"):
            await fetch(client, get(server.url + "/"))
        await client.aclose()


async def test_a_pooled_connection_the_upstream_closed_is_retried_on_a_new_one() -> None:
    def script(head: bytes, transport: asyncio.Transport, n: int) -> None:
        transport.write(OK)
        if n == 1:
            asyncio.get_running_loop().call_later(0.05, transport.close)

    async with ScriptedServer(script) as server:
        client = Upstreams()
        await fetch(client, get(server.url + "/"))
        await asyncio.sleep(0.2)  # the idle connection is closed meanwhile
        capture = await fetch(client, get(server.url + "/"))
        await client.aclose()
    assert b"".join(capture.chunks) == JSON
    assert server.connections == 2


async def test_a_silent_upstream_is_a_read_timeout() -> None:
    async with ScriptedServer(lambda head, transport, n: None) as server:
        client = Upstreams(read_timeout_s=0.2)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(UpstreamError, match="read timeout"):
            await fetch(client, get(server.url + "/"))
        assert 0.15 <= loop.time() - started < 2
        await client.aclose()


async def test_an_invalid_response_is_an_upstream_error() -> None:
    async with ScriptedServer(reply(b"SMTP ready\r\n\r\n")) as server:
        client = Upstreams()
        with pytest.raises(UpstreamError, match="invalid response"):
            await fetch(client, get(server.url + "/"))
        await client.aclose()


async def test_an_unreachable_upstream_is_an_upstream_error() -> None:
    client = Upstreams()
    with pytest.raises(UpstreamError, match="cannot connect"):
        await fetch(client, get("http://127.0.0.1:9/"))
    await client.aclose()


async def test_the_client_head_is_the_upstream_head_minus_its_framing() -> None:
    data = (
        b"HTTP/1.1 201 Created\r\nX-Trace: abc\r\nContent-Length: 2\r\n"
        b"Connection: keep-alive\r\n\r\nhi"
    )
    async with ScriptedServer(reply(data)) as server:
        client = Upstreams()
        capture = await fetch(client, get(server.url + "/"))
        await client.aclose()
    head = encode_live_head(capture, b"content-length: 2\r\n")
    assert head == b"HTTP/1.1 201 Created\r\nX-Trace: abc\r\ncontent-length: 2\r\n\r\n"
    assert capture.client_head.headers == (("X-Trace", "abc"),)
