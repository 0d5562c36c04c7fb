"""Forwarding to the real upstream (record and passthrough modes), streamed and pooled.

A small HTTP/1.1 client on asyncio protocols, with h11 as its parser: connections to each
upstream origin are kept alive and reused, and a response is handed over chunk by chunk as it
arrives, so the proxy writes each piece to its client at once (an SSE stream passes through
unbuffered) while :class:`Capture` notes when each chunk arrived to time a recording's events.
It replaces ``httpx.AsyncClient`` here because the proxy's hot path is exactly this one
request/response and httpx's pool costs milliseconds per request under concurrency (measured
by ``benchmarks/proxy_overhead.py``); HTTP/2, proxies and redirects are not needed here.

The request goes up as the client sent it, minus hop-by-hop headers and with
``accept-encoding: identity``: an uncompressed answer can be timed per event, edited by faults
and stored readably, and it costs nothing on loopback or in a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import h11

from faultkit.doors.timeline import event_offsets_ms
from faultkit.exchange import Request, Response, ResponseHead, without_headers
from faultkit.plan import FRAMING_HEADERS

HOP_BY_HOP = (
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "host",
    "accept-encoding",
    "expect",
)
BODY_METHODS = ("POST", "PUT", "PATCH")
MAX_IDLE_PER_ORIGIN = 256


class UpstreamError(Exception):
    """The upstream could not be reached or broke off; answered to the client as a 502."""


@dataclass
class Capture:
    """A live response as it streams through: head, bytes and when each chunk arrived."""

    head: ResponseHead
    started: float  # monotonic time the request was sent
    head_ms: float
    chunks: list[bytes] = field(default_factory=list)
    marks: list[tuple[int, float]] = field(default_factory=list)
    size: int = 0
    complete: bool = False

    def add(self, chunk: bytes) -> None:
        if chunk:
            self.chunks.append(chunk)
            self.size += len(chunk)
            self.marks.append((self.size, (time.monotonic() - self.started) * 1000))

    @property
    def client_head(self) -> ResponseHead:
        """The head as the door sends it: the door frames the body itself."""
        return self.head.model_copy(
            update={"headers": without_headers(self.head.headers, *FRAMING_HEADERS)}
        )

    def response(self, *, timed: bool = True) -> Response:
        """The captured response, with SSE event timing unless ``timed`` is False (a response
        buffered before faults were applied has already made the client wait once)."""
        body = b"".join(self.chunks)
        response = Response(head=self.head, body=body, first_byte_ms=round(self.head_ms, 3))
        encoding = (self.head.header("content-encoding") or "identity").strip().lower()
        if timed and response.is_sse and encoding == "identity":
            offsets = event_offsets_ms(body, self.marks, self.head_ms)
            response = response.model_copy(update={"event_offsets_ms": offsets})
        return response


class _Connection(asyncio.Protocol):
    """One upstream connection: h11 client state plus a waiter for incoming bytes."""

    def __init__(self) -> None:
        self.parser = h11.Connection(h11.CLIENT)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reused = False
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.receive_data(data)
        self._wake()

    def eof_received(self) -> bool:
        self.parser.receive_data(b"")
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.parser.their_state not in (h11.CLOSED, h11.ERROR):
            with contextlib.suppress(RuntimeError):
                self.parser.receive_data(b"")
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def send(self, *events: h11.Event) -> None:
        data = b"".join(self.parser.send(e) or b"" for e in events)
        self.transport.write(data)  # type: ignore[union-attr]

    async def next_event(self, read_timeout_s: float) -> h11.Event:
        while True:
            try:
                event = self.parser.next_event()
            except h11.RemoteProtocolError as exc:
                raise UpstreamError(f"invalid response: {exc}") from None
            if event is not h11.NEED_DATA:
                return event
            if self.closed:
                raise UpstreamError("connection closed by the upstream")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(self._waiter, read_timeout_s)
            except TimeoutError:
                raise UpstreamError(f"read timeout ({read_timeout_s:g} s)") from None
            finally:
                self._waiter = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    @property
    def reusable(self) -> bool:
        return (
            not self.closed
            and self.parser.our_state is h11.DONE
            and self.parser.their_state is h11.DONE
        )


@dataclass
class UpstreamResponse:
    """The body side of an open upstream response (read it with ``Upstreams.stream``)."""

    connection: _Connection
    origin: tuple[str, str, int]
    released: bool = False
    early: bytes = b""  # body bytes that arrived with the head
    done: bool = False  # the whole body arrived with the head


class Upstreams:
    """The pooled client every door forwards through."""

    def __init__(self, *, connect_timeout_s: float = 10.0, read_timeout_s: float = 600.0) -> None:
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._ssl: ssl.SSLContext | None = None

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    async def _connect(self, origin: tuple[str, str, int]) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        context = None
        if scheme == "https":
            context = self._ssl = self._ssl or ssl.create_default_context()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(
                    _Connection, host, port, ssl=context, server_hostname=host if context else None
                ),
                self.connect_timeout_s,
            )
        except TimeoutError:
            raise UpstreamError(f"connect timeout to {host}:{port}") from None
        except OSError as exc:
            raise UpstreamError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        return connection

    def _take_idle(self, origin: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if not connection.closed:
                connection.reused = True
                return connection
        return None

    def _release(self, handle: UpstreamResponse) -> None:
        if handle.released:
            return
        handle.released = True
        connection = handle.connection
        if connection.reusable:
            connection.parser.start_next_cycle()
            idle = self._idle.setdefault(handle.origin, [])
            if len(idle) < MAX_IDLE_PER_ORIGIN:
                idle.append(connection)
                return
        connection.close()

    async def open(self, request: Request) -> tuple[Capture, UpstreamResponse]:
        """Send ``request`` (its ``url`` is the real upstream URL) and return once the head
        has arrived. Read the body with :meth:`stream`, which also releases the connection."""
        parts = urlsplit(request.url)
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        origin = (scheme, host, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = [("host", parts.netloc)]
        headers += without_headers(request.headers, *HOP_BY_HOP)
        headers.append(("accept-encoding", "identity"))
        if request.body or request.method.upper() in BODY_METHODS:
            headers.append(("content-length", str(len(request.body))))
        events: list[h11.Event] = [
            h11.Request(method=request.method, target=target, headers=headers)
        ]
        if request.body:
            events.append(h11.Data(data=request.body))
        events.append(h11.EndOfMessage())
        for attempt in (1, 2):
            connection = self._take_idle(origin) if attempt == 1 else None
            connection = connection or await self._connect(origin)
            started = time.monotonic()
            try:
                connection.send(*events)
                event = await connection.next_event(self.read_timeout_s)
                while isinstance(event, h11.InformationalResponse):
                    event = await connection.next_event(self.read_timeout_s)
            except (UpstreamError, h11.LocalProtocolError) as exc:
                connection.close()
                # A kept-alive connection the upstream had closed: retry once on a new one.
                if attempt == 1 and connection.reused:
                    continue
                raise UpstreamError(str(exc)) from None
            if not isinstance(event, h11.Response):
                connection.close()
                raise UpstreamError(f"unexpected {type(event).__name__} instead of a response")
            break
        head = ResponseHead(
            status=event.status_code,
            reason=event.reason.decode("latin-1"),
            headers=tuple(
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers.raw_items()
            ),
        )
        capture = Capture(head=head, started=started, head_ms=(time.monotonic() - started) * 1000)
        handle = UpstreamResponse(connection, origin)
        self._take_early(capture, handle)
        return capture, handle

    def _take_early(self, capture: Capture, handle: UpstreamResponse) -> None:
        """Body bytes already received with the head, so the door can send head and body in
        one write (one syscall and one segment, instead of two)."""
        parser = handle.connection.parser
        early: list[bytes] = []
        while True:
            try:
                event = parser.next_event()
            except h11.RemoteProtocolError:
                break  # reported by ``stream`` on the next read
            if isinstance(event, h11.Data):
                chunk = bytes(event.data)
                capture.add(chunk)
                early.append(chunk)
            elif isinstance(event, h11.EndOfMessage):
                capture.complete = handle.done = True
                self._release(handle)
                break
            else:
                break
        handle.early = b"".join(early)

    async def stream(self, capture: Capture, handle: UpstreamResponse) -> AsyncIterator[bytes]:
        """The body chunks after ``handle.early`` as they arrive, each noted in ``capture``."""
        connection = handle.connection
        try:
            while not handle.done:
                event = await connection.next_event(self.read_timeout_s)
                if isinstance(event, h11.Data):
                    chunk = bytes(event.data)
                    capture.add(chunk)
                    yield chunk
                elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                    capture.complete = handle.done = True
                    return
        finally:
            self._release(handle)

    async def fetch(self, request: Request) -> Capture:
        """The whole response (for a request a fault will edit)."""
        capture, handle = await self.open(request)  # ``early`` bytes are in ``capture``
        async for _ in self.stream(capture, handle):
            pass
        return capture
