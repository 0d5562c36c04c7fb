"""Pass-through answers on a pooled upstream connection, answered from callbacks (no task).

The proxy sends a request up on an idle kept-alive connection and forwards the answer from
that connection's callbacks; a task takes over only to wait for a slow client. Every test
here first warms the pool with one request, then checks on the upstream's side that the
request under test came on that same connection, so it is this path that is being tested,
against a real ``faultkit proxy`` process and a raw upstream that writes exactly the bytes and
pauses the test gives.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest

Answer = Callable[[asyncio.StreamWriter], Awaitable[None]]
WARM = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


class RawUpstream:
    """A loopback server in its own thread: ``GET /warm`` answers at once; any other path is
    answered by ``answers[path]``, which writes (and waits) as it likes."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.connections = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0)
        )
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        self.ready.set()
        self.loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                if path == "/warm":
                    writer.write(WARM)
                else:
                    await self.answers[path](writer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def __enter__(self) -> RawUpstream:
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def shutdown() -> None:
            self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def upstream() -> Iterator[RawUpstream]:
    with RawUpstream() as server:
        yield server


@pytest.fixture
def door(proxy, upstream: RawUpstream):  # type: ignore[no-untyped-def]
    process = proxy("--mode", "passthrough", "--upstream", f"raw={upstream.url}", "--only", "raw")
    with httpx.Client(timeout=10) as warm:  # one pooled connection, idle from now on
        assert warm.get(process.door("raw") + "/warm").status_code == 200
    return process


def test_a_head_and_its_body_written_apart_make_one_answer(door, upstream) -> None:
    body = b'{"id": "1234", "status": "shipped"}'

    async def apart(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
        writer.write(b"content-length: %d\r\n\r\n" % len(body))
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(body)

    upstream.answers["/orders/1234"] = apart
    r = httpx.get(door.door("raw") + "/orders/1234", timeout=10)
    assert (r.status_code, r.content) == (200, body)
    assert upstream.connections == 1  # the pooled connection the warm-up left idle
    entry = door.ledger()[-1]
    assert (entry["ending"], entry["status"], entry["bytes_sent"]) == ("completed", 200, len(body))
    assert entry["format"] == "json"


def test_a_stream_is_forwarded_event_by_event(door, upstream) -> None:
    events = [b'data: {"n": %d}\n\n' % i for i in range(3)]

    async def sse(writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        for i, event in enumerate(events):
            if i:
                await asyncio.sleep(0.15)
            writer.write(b"%x\r\n%b\r\n" % (len(event), event))
            await writer.drain()
        writer.write(b"0\r\n\r\n")

    upstream.answers["/events"] = sse
    arrivals: list[float] = []
    received = b""
    with httpx.stream("GET", door.door("raw") + "/events", timeout=10) as r:
        for piece in r.iter_raw():
            received += piece
            arrivals.append(time.monotonic())
    assert received == b"".join(events)
    assert arrivals[-1] - arrivals[0] >= 0.25  # not held back until the end
    assert upstream.connections == 1  # the pooled connection the warm-up left idle
    entry = door.ledger()[-1]
    assert (entry["ending"], entry["bytes_sent"]) == ("completed", len(received))


def test_an_upstream_breaking_off_mid_body_resets_the_client(door, upstream) -> None:
    async def cut(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n" + b"x" * 10)
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.transport.abort()

    upstream.answers["/cut"] = cut
    with pytest.raises(httpx.TransportError):
        httpx.get(door.door("raw") + "/cut", timeout=10)
    assert upstream.connections == 1  # the pooled connection the warm-up left idle
    entry = door.ledger()[-1]
    assert entry["ending"] == "reset"
    assert "upstream" in entry["error"]
    # the proxy keeps serving, on a new upstream connection
    assert httpx.get(door.door("raw") + "/warm", timeout=10).status_code == 200


def test_a_slow_client_gets_every_byte_of_a_large_body(door, upstream) -> None:
    """The client's buffer fills: the upstream is paused until it drains (a task waits)."""
    body = bytes(range(256)) * (32 * 1024)  # 8 MiB

    async def large(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body))
        for at in range(0, len(body), 256 * 1024):
            writer.write(body[at : at + 256 * 1024])
            await writer.drain()

    upstream.answers["/large"] = large
    digest = hashlib.sha256()
    size = 0
    with httpx.stream("GET", door.door("raw") + "/large", timeout=30) as r:
        for piece in r.iter_raw(64 * 1024):
            digest.update(piece)
            size += len(piece)
            time.sleep(0.004)  # slower than loopback
    assert (size, digest.hexdigest()) == (len(body), hashlib.sha256(body).hexdigest())
    assert upstream.connections == 1  # the pooled connection the warm-up left idle
    entry = door.ledger()[-1]
    assert (entry["ending"], entry["bytes_sent"]) == ("completed", len(body))


def test_a_client_leaving_mid_stream_is_client_closed_and_the_door_serves_on(
    door, upstream
) -> None:
    async def endless(writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        for _ in range(100):
            event = b"data: tick\n\n"
            writer.write(b"%x\r\n%b\r\n" % (len(event), event))
            await writer.drain()
            await asyncio.sleep(0.05)

    upstream.answers["/endless"] = endless
    port = door.port("raw")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /endless HTTP/1.1\r\nhost: x\r\n\r\n")
        seen = b""
        while b"data: tick" not in seen:
            piece = sock.recv(4096)
            assert piece, f"closed before the first event: {seen!r}"
            seen += piece
    deadline = time.monotonic() + 10
    while door.ledger()[-1]["ending"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert door.ledger()[-1]["ending"] == "client_closed"
    assert upstream.connections == 1  # the pooled connection the warm-up left idle
    assert httpx.get(door.door("raw") + "/warm", timeout=10).status_code == 200
