"""Forwarding to the real upstream (record and passthrough modes), streamed and pooled.

A small HTTP/1.1 client on asyncio protocols, with httptools (llhttp, C) as its response parser:
connections to each upstream origin are kept alive and reused, and a response body is handed to
the door chunk by chunk from ``data_received`` itself, so the proxy writes each piece to its
client the moment it arrives, without a task switch, a copy or a re-join (an SSE stream passes
through unbuffered), while a :class:`~faultkit.doors.flow.Capture` notes when each chunk
arrived to time a recording's events. It replaces ``httpx.AsyncClient`` here because the
proxy's hot path is exactly this one request/response and a general client costs
milliseconds per request under concurrency (measured by ``benchmarks/proxy_overhead.py``);
HTTP/2, proxies and redirects are not needed.

The request goes up as the client sent it, minus hop-by-hop headers and with
``accept-encoding: identity``: an uncompressed answer can be timed per event, edited by faults
and stored readably, and it costs nothing on loopback or in a test.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

import httptools

from faultkit.doors.flow import Capture
from faultkit.exchange import Request

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
_HOP_BY_HOP = frozenset(HOP_BY_HOP)
BODY_METHODS = ("POST", "PUT", "PATCH")
MAX_IDLE_PER_ORIGIN = 256
SEPARATE_WRITE_BYTES = 64 * 1024  # a body this large is not copied behind its head
WATCH_INTERVAL_S = 1.0  # how often read timeouts are checked (their precision)

Origin = tuple[str, str, int]


class UpstreamError(Exception):
    """The upstream could not be reached or broke off; answered to the client as a 502."""


class UpstreamResponse:
    """One request/response on an upstream connection; httptools' callbacks fill it in.

    After the head: ``early`` holds the body bytes that came with it, ``done`` says whether
    that was all. Later chunks go to the sink set with :meth:`set_sink` as they arrive (or
    are only captured when there is none); :meth:`wait` returns when the body is complete and
    raises :class:`UpstreamError` when the upstream broke off. The connection goes back to the
    pool the moment the body is complete.
    """

    __slots__ = (
        "_head_only",
        "_head_waiter",
        "_headers",
        "_informational",
        "_keep",
        "_listener",
        "_loop",
        "_reason",
        "_reusable",
        "_sink",
        "_to_eof",
        "_waiter",
        "capture",
        "connection",
        "done",
        "early_chunks",
        "error",
        "origin",
        "paused",
        "received",
        "started",
    )

    def __init__(
        self,
        connection: _Connection,
        origin: Origin,
        *,
        head_only: bool,
        keep: bool,
    ) -> None:
        self.connection = connection
        self.origin = origin
        self._head_only = head_only
        self._keep = keep
        self._loop = connection.loop
        # Who hears of the head: a coroutine awaiting this future (``Upstreams.open``), or a
        # listener (``Upstreams.start_idle``), called once the head is in or the exchange
        # failed, and after every later read.
        self._head_waiter: asyncio.Future[None] | None = None
        self._listener: Callable[[], None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._sink: Callable[[bytes], None] | None = None
        self._reason = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._informational = False
        self._to_eof = False  # body delimited by the connection closing
        self._reusable = False
        self.received = False  # any byte of the response arrived
        self.capture: Capture | None = None
        self.early_chunks: list[bytes] = []
        self.done = False
        self.error: UpstreamError | None = None
        self.paused = False
        self.started = time.monotonic()

    # -- httptools callbacks -------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._headers = []

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self.connection.parser
        status = parser.get_status_code()  # type: ignore[union-attr]
        if 100 <= status < 200 and status != 101:
            self._informational = True  # 100 Continue, 103 Early Hints: the answer follows
            self._reason = b""
            return
        self._reusable = parser.should_keep_alive()  # type: ignore[union-attr]
        capture = self.capture = Capture(
            status,
            self._reason,
            self._headers,
            (time.monotonic() - self.started) * 1000,
            keep=self._keep,
        )
        no_body = self._head_only or status in (204, 304)
        if not no_body:
            self._to_eof = capture.content_length is None and capture.transfer_encoding is None
        waiter = self._head_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if no_body:
            # llhttp cannot be told a response answers HEAD: the body it would wait for never
            # comes, so the exchange ends here (the next one gets a fresh parser).
            self._complete()

    def on_body(self, body: bytes) -> None:
        if self.done:
            return
        capture = self.capture
        assert capture is not None
        capture.add(body, (time.monotonic() - self.started) * 1000 if capture.keep else 0.0)
        sink = self._sink
        if sink is None:
            self.early_chunks.append(body)
        else:
            sink(body)

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        if not self.done:
            self._complete()

    # -- connection events ---------------------------------------------------------------------
    def _complete(self) -> None:
        self.done = True
        if self.capture is not None:
            self.capture.complete = True
        self.connection.finished(self._reusable and not self._to_eof)
        self._wake()

    def fail(self, error: UpstreamError) -> None:
        if self.done:
            return
        self.done = True
        self.error = error
        self.connection.close()
        waiter = self._head_waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
            waiter.exception()  # retrieved: a cancelled opener never awaits it
        self._wake()
        self.ready()

    def at_eof(self) -> None:
        """The upstream closed the connection: the end of a close-delimited body, else a
        break-off."""
        if self.done:
            return
        if self.capture is not None and self._to_eof:
            self._reusable = False
            self._complete()
            self.ready()
        else:
            self.fail(UpstreamError("connection closed by the upstream"))

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def ready(self) -> None:
        """Tell the listener (``start_idle``'s ``on_event``), if any, once the head is in or
        the exchange failed, and again after every later read: it decides what to do."""
        listener = self._listener
        if listener is not None and (self.capture is not None or self.error is not None):
            listener()

    def set_listener(self, on_event: Callable[[], None] | None) -> None:
        """Stop (None) or start calling ``on_event`` after each read."""
        self._listener = on_event

    # -- the door's side -----------------------------------------------------------------------
    async def head(self) -> None:
        """Until the head has arrived; raises :class:`UpstreamError` when it cannot come."""
        if self.capture is None:
            if self.error is not None:
                raise self.error
            self._head_waiter = self._loop.create_future()
            await self._head_waiter

    @property
    def early(self) -> bytes:
        chunks = self.early_chunks
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def set_sink(self, sink: Callable[[bytes], None]) -> None:
        """Hand every later body chunk to ``sink`` as it arrives."""
        self._sink = sink

    async def wait(self) -> None:
        """Until the body is complete, or reading was paused (see :meth:`pause`)."""
        if not self.done and not self.paused:
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self.error is not None:
            raise self.error

    def pause(self) -> None:
        """Stop reading from the upstream (the client reads slower than it sends)."""
        if not self.done and not self.paused:
            self.paused = True
            self.connection.transport.pause_reading()  # type: ignore[union-attr]
            self._wake()

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            if not self.done:
                self.connection.transport.resume_reading()  # type: ignore[union-attr]

    def abort(self) -> None:
        """Stop here: the rest of the body is not wanted and the connection is not reused."""
        self._listener = None
        if not self.done:
            self.done = True
            self.connection.close()
            self._wake()


class _Connection(asyncio.Protocol):
    """One upstream connection: feeds the parser of the exchange in progress."""

    def __init__(self, pool: Upstreams, origin: Origin) -> None:
        self.pool = pool
        self.origin = origin
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser: httptools.HttpResponseParser | None = None
        self.exchange: UpstreamResponse | None = None
        self.closed = False
        self.reused = False
        self.last_read = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def start(
        self,
        request: bytes,
        *,
        head_only: bool,
        keep: bool,
        on_event: Callable[[], None] | None = None,
    ) -> UpstreamResponse:
        exchange = self.exchange = UpstreamResponse(
            self, self.origin, head_only=head_only, keep=keep
        )
        exchange.set_listener(on_event)
        self.parser = httptools.HttpResponseParser(exchange)
        self.last_read = self.loop.time()
        self.pool._watch(self)
        self.transport.write(request)  # type: ignore[union-attr]
        return exchange

    def check_timeout(self, now: float, timeout_s: float) -> None:
        exchange = self.exchange
        if exchange is not None and not exchange.done and now - self.last_read >= timeout_s:
            exchange.fail(UpstreamError(f"read timeout ({timeout_s:g} s)"))

    def data_received(self, data: bytes) -> None:
        exchange = self.exchange
        if exchange is None or exchange.done:
            self.close()  # bytes nobody asked for: this connection cannot be trusted
            return
        exchange.received = True
        self.last_read = self.loop.time()
        try:
            self.parser.feed_data(data)  # type: ignore[union-attr]
        except httptools.HttpParserUpgrade:
            exchange.fail(UpstreamError("the upstream switched protocols (not supported)"))
        except httptools.HttpParserError as exc:
            cause = exc.__context__ if isinstance(exc, httptools.HttpParserCallbackError) else exc
            exchange.fail(UpstreamError(f"invalid response: {cause or exc}"))
        # Last: the callback may answer the client and start that client's next request,
        # on this very connection (back in the pool once the body was complete).
        exchange.ready()

    def eof_received(self) -> bool:
        self._lost()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost()

    def _lost(self) -> None:
        self.closed = True
        exchange = self.exchange
        if exchange is not None and not exchange.done:
            exchange.at_eof()
        self.pool._unwatch(self)
        # No cycles left behind (parser -> exchange -> connection): see HttpConnection.
        self.exchange = None
        self.parser = None

    def finished(self, reusable: bool) -> None:
        """The exchange in progress is complete: back to the pool, or closed."""
        self.pool._unwatch(self)
        self.exchange = None
        if reusable and not self.closed:
            self.pool._release(self)
        else:
            self.close()

    def close(self) -> None:
        self.closed = True
        self.pool._unwatch(self)
        if self.transport is not None:
            self.transport.close()


@lru_cache(maxsize=256)
def _origin_of(url_prefix: str) -> tuple[Origin, str]:
    """(scheme, host, port) and the ``host`` header value of ``scheme://netloc``."""
    parts = urlsplit(url_prefix)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return (scheme, parts.hostname or "", port), parts.netloc


@lru_cache(maxsize=4096)
def _split(url: str) -> tuple[Origin, str, str]:
    """Origin, ``host`` header and request target of an absolute URL."""
    start = url.find("://")
    start = start + 3 if start >= 0 else 0
    cut = len(url)
    for mark in "/?#":
        at = url.find(mark, start, cut)
        if at >= 0:
            cut = at
    origin, netloc = _origin_of(url[:cut])
    target = url[cut:]
    if "#" in target:
        target = target.split("#", 1)[0]
    if not target.startswith("/"):
        target = "/" + target
    return origin, netloc, target


def _latin1(text: str) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def encode_request(request: Request, target: str, netloc: str) -> tuple[bytes, bytes]:
    """The head (and body) that go upstream: hop-by-hop headers dropped, identity encoding."""
    parts = [f"{request.method} {target} HTTP/1.1\r\nhost: {netloc}\r\n"]
    for name, value in request.headers:
        if name.lower() not in _HOP_BY_HOP:
            parts += (name, ": ", value, "\r\n")  # one join, no line built per header
    body = request.body
    if body or request.method.upper() in BODY_METHODS:
        parts.append(f"accept-encoding: identity\r\ncontent-length: {len(body)}\r\n\r\n")
    else:
        parts.append("accept-encoding: identity\r\n\r\n")
    return _latin1("".join(parts)), body


class Upstreams:
    """The pooled client every door forwards through."""

    def __init__(self, *, connect_timeout_s: float = 10.0, read_timeout_s: float = 600.0) -> None:
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self._idle: dict[Origin, list[_Connection]] = {}
        self._ssl: ssl.SSLContext | None = None
        self._busy: set[_Connection] = set()
        self._watchdog: asyncio.TimerHandle | None = None

    # -- read timeouts -------------------------------------------------------------------------
    # One watchdog for all connections, every WATCH_INTERVAL_S while any exchange is in flight:
    # a timer per request (armed, then cancelled) costs more than the rest of the forwarding.
    def _watch(self, connection: _Connection) -> None:
        self._busy.add(connection)
        if self._watchdog is None:
            interval = min(WATCH_INTERVAL_S, self.read_timeout_s / 4)
            self._watchdog = connection.loop.call_later(interval, self._check_timeouts)

    def _unwatch(self, connection: _Connection) -> None:
        self._busy.discard(connection)

    def _check_timeouts(self) -> None:
        self._watchdog = None
        if not self._busy:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        for connection in list(self._busy):
            connection.check_timeout(now, self.read_timeout_s)
        if self._busy:
            interval = min(WATCH_INTERVAL_S, self.read_timeout_s / 4)
            self._watchdog = loop.call_later(interval, self._check_timeouts)

    async def aclose(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    async def _connect(self, origin: Origin) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        context = None
        if scheme == "https":
            context = self._ssl = self._ssl or ssl.create_default_context()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Connection(self, origin),
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if context else None,
                ),
                self.connect_timeout_s,
            )
        except TimeoutError:
            raise UpstreamError(f"connect timeout to {host}:{port}") from None
        except OSError as exc:
            raise UpstreamError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        return connection

    def _take_idle(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if not connection.closed:
                connection.reused = True
                return connection
        return None

    def _release(self, connection: _Connection) -> None:
        idle = self._idle.setdefault(connection.origin, [])
        if len(idle) < MAX_IDLE_PER_ORIGIN:
            idle.append(connection)
        else:
            connection.close()

    def _prepare(self, request: Request) -> tuple[Origin, bytes, bytes, bool]:
        """Origin, the bytes written first, a body written after them (when large, so it is
        not copied), and whether the request is a HEAD."""
        origin, netloc, target = _split(request.url)
        head, body = encode_request(request, target, netloc)
        if len(body) < SEPARATE_WRITE_BYTES:
            return origin, head + body, b"", request.method.upper() == "HEAD"
        return origin, head, body, request.method.upper() == "HEAD"

    def start_idle(self, request: Request, on_event: Callable[[], None]) -> UpstreamResponse | None:
        """Send ``request`` on an idle pooled connection, if there is one, and return its
        exchange: ``on_event`` is called from the connection's callbacks once the head is in
        (with the body bytes that came along, often all of them) or the exchange failed, and
        after every later read until it is detached (:meth:`UpstreamResponse.set_listener`).
        None when no connection is idle (then :meth:`open`)."""
        origin, data, rest, head_only = self._prepare(request)
        connection = self._take_idle(origin)
        if connection is None:
            return None
        exchange = connection.start(data, head_only=head_only, keep=False, on_event=on_event)
        if rest:
            connection.transport.write(rest)  # type: ignore[union-attr]
        return exchange

    async def open(
        self, request: Request, *, keep_body: bool = False
    ) -> tuple[Capture, UpstreamResponse]:
        """Send ``request`` (its ``url`` is the real upstream URL) and return once the head
        has arrived. ``keep_body`` keeps the body and its timing in the capture (to record it
        or to edit it); otherwise only its size is counted."""
        origin, data, rest, head_only = self._prepare(request)
        for attempt in (1, 2):
            connection = self._take_idle(origin) if attempt == 1 else None
            connection = connection or await self._connect(origin)
            exchange = connection.start(data, head_only=head_only, keep=keep_body)
            if rest:
                connection.transport.write(rest)  # type: ignore[union-attr]
            try:
                await exchange.head()
            except UpstreamError:
                # A kept-alive connection the upstream had closed: retry once on a new one.
                if attempt == 1 and connection.reused and not exchange.received:
                    continue
                raise
            except BaseException:
                connection.close()  # cancelled (the client left): the answer is not wanted
                raise
            break
        assert exchange.capture is not None
        return exchange.capture, exchange
