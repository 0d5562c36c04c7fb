"""The floor: the least an asyncio HTTP/1.1 proxy written in Python does per request.

httptools parses the request and the answer, the headers are copied, kept-alive upstream
connections are reused, and nothing else happens: no ledger, no fault engine, no limits, no
streaming care (an answer is forwarded when it is complete). It is not a proxy to use; it is
the baseline that tells how much of faultkit's cost is its own and how much any Python proxy
on the same loop and parser pays. ``proxy_overhead.py`` runs it over loopback beside Envoy and
HAProxy (``--floor-proxy``); ``proxy_hotpath.py`` runs it over stand-in transports.

    python benchmarks/floor_proxy.py PORT_FILE UPSTREAM_PORT   # serve on 127.0.0.1
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

import httptools

_FRAMING = (b"content-length", b"transfer-encoding", b"connection")


class FloorUpstream(asyncio.Protocol):
    """One upstream connection: forwards one request at a time, answers its client."""

    def __init__(self, release: Callable[[FloorUpstream], None]) -> None:
        self.release = release
        self.transport: asyncio.Transport | None = None
        self.client: FloorClient | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, client: FloorClient, request: bytes) -> None:
        self.client = client
        self.transport.write(request)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_begin(self) -> None:
        self.headers = []
        self.body = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        body = b"".join(self.body)
        lines = [
            name + b": " + value + b"\r\n"
            for name, value in self.headers
            if name.lower() not in _FRAMING
        ]
        head = b"HTTP/1.1 %d OK\r\n%bcontent-length: %d\r\n\r\n" % (
            self.parser.get_status_code(),
            b"".join(lines),
            len(body),
        )
        client, self.client = self.client, None
        self.release(self)
        if client is not None:
            client.answer(head + body)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.client is not None:
            self.client.close()


class FloorClient(asyncio.Protocol):
    """One client connection: each request goes up on a pooled connection (or a new one)."""

    def __init__(
        self,
        take: Callable[[], FloorUpstream | None],
        connect: Callable[[FloorClient, bytes], None],
    ) -> None:
        self.take = take
        self.connect = connect
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_message_complete(self) -> None:
        lines = [name + b": " + value + b"\r\n" for name, value in self.headers]
        request = b"%b %b HTTP/1.1\r\n%b\r\n" % (
            self.parser.get_method(),
            self.url,
            b"".join(lines),
        )
        upstream = self.take()
        if upstream is not None:
            upstream.send(self, request)
        else:
            self.connect(self, request)

    def answer(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def serve(port_file: str, upstream_port: int) -> None:
    # faultkit's own choice of loop (uvloop when installed), so both run on the same one
    from faultkit.doors.proxy.command import event_loop

    _, factory = event_loop("auto")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        idle: list[FloorUpstream] = []
        opening: set[asyncio.Task[None]] = set()  # kept, so a pending connect is not collected

        def take() -> FloorUpstream | None:
            while idle:
                upstream = idle.pop()
                if upstream.transport is not None and not upstream.transport.is_closing():
                    return upstream
            return None

        def connect(client: FloorClient, request: bytes) -> None:
            async def opened() -> None:
                _, upstream = await loop.create_connection(
                    lambda: FloorUpstream(idle.append), "127.0.0.1", upstream_port
                )
                upstream.send(client, request)

            task = loop.create_task(opened())
            opening.add(task)
            task.add_done_callback(opening.discard)

        server = await loop.create_server(
            lambda: FloorClient(take, connect), "127.0.0.1", 0, backlog=1024
        )
        partial = Path(f"{port_file}.partial")
        partial.write_text(str(server.sockets[0].getsockname()[1]))
        os.replace(partial, port_file)
        await asyncio.Event().wait()

    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main())


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
