"""A small asyncio HTTP/1.1 server: h11 parses requests, the door writes responses itself.

h11 is used only as a request parser (bytes in, events out): the response is written by
:mod:`.execute`, because a fault must be able to send what no well-behaved server would (a
short body under a longer ``content-length``, a reset mid-chunk), which h11's own state machine
rightly refuses to produce. After each response the parser is replaced by a fresh one fed with
the bytes it had not consumed, so pipelined requests are kept.

Malformed HTTP gets a ``400`` and that connection is closed; the listener keeps serving. A
client that disconnects while its request is being answered cancels the handler, so a long
stall ends in the ledger as ``client_closed`` when the client leaves, not when the stall ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import h11

from faultkit.errors import FaultkitError

from .execute import error_head

log = logging.getLogger("faultkit.proxy")

MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_BUFFERED_BYTES = 1024 * 1024


@dataclass(frozen=True)
class IncomingRequest:
    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    http11: bool
    keep_alive: bool
    arrived_at: float  # loop time the request head arrived
    client: str

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None


# A handler answers one request on the connection and says whether to keep it open.
Handler = Callable[["IncomingRequest", "HttpConnection"], Awaitable[bool]]


def json_error(status: int, kind: str, message: str, **extra: object) -> bytes:
    """A complete response whose JSON body names the problem (``x-faultkit-error: kind``)."""
    body = json.dumps({"error": {"type": f"faultkit_{kind}", "message": message, **extra}})
    return error_head(
        status,
        [
            ("content-type", "application/json"),
            ("x-faultkit-error", kind),
            ("x-should-retry", "false"),
        ],
        body.encode(),
    )


class HttpConnection(asyncio.Protocol):
    """One client connection: parse requests, run the handler, one request at a time."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._parser = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
        self.transport: asyncio.Transport | None = None
        self._task: asyncio.Task[None] | None = None
        self._lost = False
        self._paused_writing = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._request: h11.Request | None = None
        self._body = bytearray()
        self._arrived = 0.0
        self._peer = ""
        self._paused_reading = False
        # A handler that must finish its work after the client left (a recording still
        # streaming in from upstream) turns this off and watches ``closed`` instead.
        self.cancel_on_disconnect = True

    # -- Sink (see execute.Sink) -------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._lost or self.transport is None or self.transport.is_closing()

    def write(self, data: bytes) -> None:
        if not self.closed:
            self.transport.write(data)  # type: ignore[union-attr]

    async def drain(self) -> None:
        if self._paused_writing and not self._lost:
            loop = asyncio.get_running_loop()
            self._drain_waiter = loop.create_future()
            await self._drain_waiter

    def reset(self) -> None:
        """Drop the connection with a TCP RST, as a crashed server or a middlebox does."""
        transport = self.transport
        if transport is None:
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    # -- asyncio.Protocol --------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self._peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.receive_data(data)
        except RuntimeError:
            return  # data after the parser saw the connection end; ignore
        if self._task is None:
            self._pump()
        elif not self._paused_reading and len(self._parser.trailing_data[0]) > MAX_BUFFERED_BYTES:
            self.transport.pause_reading()  # type: ignore[union-attr]
            self._paused_reading = True

    def eof_received(self) -> bool:
        if self._task is not None:
            # The client went away while being answered (HTTP clients close, not half-close).
            self._lost = True
            if self.cancel_on_disconnect:
                self._task.cancel()
            return False
        with contextlib.suppress(RuntimeError):
            self._parser.receive_data(b"")
        self._pump()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if self._task is not None and self.cancel_on_disconnect:
            self._task.cancel()
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def pause_writing(self) -> None:
        self._paused_writing = True

    def resume_writing(self) -> None:
        self._paused_writing = False
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- request parsing ---------------------------------------------------------------------
    def _bad_request(self, message: str) -> None:
        log.info("400 to %s: %s", self._peer, message)
        self.write(json_error(400, "bad_request", f"malformed HTTP request: {message}"))
        self.close()

    def _pump(self) -> None:
        while not self.closed and self._task is None:
            try:
                event = self._parser.next_event()
            except h11.RemoteProtocolError as exc:
                self._bad_request(str(exc))
                return
            if event is h11.NEED_DATA:
                return
            if isinstance(event, h11.Request):
                self._request = event
                self._body.clear()
                self._arrived = asyncio.get_running_loop().time()
                if self._parser.client_is_waiting_for_100_continue:
                    self.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            elif isinstance(event, h11.Data):
                self._body += event.data
                if len(self._body) > MAX_BODY_BYTES:
                    self.write(json_error(413, "too_large", "request body over 64 MiB"))
                    self.close()
                    return
            elif isinstance(event, h11.EndOfMessage):
                self._start(self._request)  # type: ignore[arg-type]
                return
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                self.close()
                return

    def _start(self, event: h11.Request) -> None:
        headers = tuple(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers.raw_items()
        )
        http11 = event.http_version == b"1.1"
        connection = ",".join(v.lower() for k, v in headers if k.lower() == "connection")
        keep_alive = ("close" not in connection) if http11 else ("keep-alive" in connection)
        request = IncomingRequest(
            method=event.method.decode("ascii", "replace"),
            target=event.target.decode("latin-1"),
            headers=headers,
            body=bytes(self._body),
            http11=http11,
            keep_alive=keep_alive,
            arrived_at=self._arrived,
            client=self._peer,
        )
        self._task = asyncio.get_running_loop().create_task(self._run(request))

    async def _run(self, request: IncomingRequest) -> None:
        keep = False
        try:
            keep = await self._handler(request, self) and request.keep_alive
        except asyncio.CancelledError:
            keep = False
        except Exception:
            log.exception("error answering %s %s", request.method, request.target)
            self.write(json_error(500, "internal", "faultkit proxy error; see its log"))
            keep = False
        finally:
            self._task = None
            self.cancel_on_disconnect = True
        if not keep or self.closed:
            self.close()
            return
        # Fresh parser for the next request, fed with what the old one had not consumed.
        data, closed = self._parser.trailing_data
        self._parser = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
        if data:
            self._parser.receive_data(data)
        if closed:
            self._parser.receive_data(b"")
        if self._paused_reading:
            self._paused_reading = False
            self.transport.resume_reading()  # type: ignore[union-attr]
        self._pump()


@dataclass
class Listener:
    """A bound, serving listener and its address."""

    server: asyncio.base_events.Server
    host: str
    port: int

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


class BindError(FaultkitError):
    """A door or the control API cannot listen on its address (in use, not local)."""

    def __init__(self, host: str, port: int, exc: OSError) -> None:
        self.errno = exc.errno
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        super().__init__(f"cannot listen on {host}:{port}: {reason.lower()}")


async def listen(handler: Handler, host: str, port: int) -> Listener:
    """Bind ``host:port`` (0 = a free port) and serve ``handler``. Raises :class:`BindError`
    when the address cannot be bound."""
    loop = asyncio.get_running_loop()
    try:
        server = await loop.create_server(
            lambda: HttpConnection(handler), host, port, reuse_address=True, backlog=1024
        )
    except OSError as exc:
        raise BindError(host, port, exc) from None
    sockname = server.sockets[0].getsockname()
    return Listener(server, sockname[0], sockname[1])
