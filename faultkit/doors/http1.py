"""The doors' HTTP/1.1 server: httptools parses requests, the door writes responses itself.

One server for every listener faultkit opens on a loop: the proxy's doors and the control API
(Toxiproxy's routes plus ``/faultkit/...``), so keep-alive, pipelining, ``100 Continue``, the
limits and the timeouts below behave the same on both ports. What differs is only the shape
of the server's own error answers (``error_reply``): the doors answer in faultkit's JSON
shape, the control API in Toxiproxy's.

httptools (llhttp, the C parser Node.js uses) is used only as a request parser, fed bytes from
``data_received``: the response is written by :mod:`.execute`, because a fault must be able to
send what no well-behaved server would (a short body under a longer ``content-length``, a
reset mid-chunk). Requests are answered one at a time per connection, in order: pipelined
requests that arrive while one is being answered wait in a queue (reading pauses when it grows).

Malformed HTTP gets a ``400`` and that connection is closed (after the answers to any requests
before it); the listener keeps serving. A client that holds a connection without using it is
dropped after ``client_timeout_s`` (``--client-timeout-s``): silent between requests (closed),
or sending a request too slowly (a ``408``): a request head that is not complete that long
after its first byte, or a request that stops arriving for that long. Idle keep-alive
connections and slowloris clients would otherwise hold a descriptor and a protocol each for
ever. While the proxy itself is answering (a stall fault, a slow upstream) the clock stops:
the wait is the proxy's doing, not the client's. One timer per connection, re-armed only when
it fires, so a busy connection pays one attribute write per read.

A client that disconnects while its request is being answered cancels the handler, so a long
stall ends in the ledger as ``client_closed`` when the client leaves, not when the stall ends.

A handler may answer without a task: an asyncio task per request (created, scheduled, woken by
a future) costs more than everything else a pass-through request needs in Python, so a door
answers what it can from callbacks alone (a response due at once, a pooled upstream
connection's answer as it arrives) and hands the connection a coroutine only for what must
wait (a planned delay, a client's full buffer, a new upstream connection, a fault).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import struct
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

import httptools

from faultkit.errors import FaultkitError
from faultkit.formats.errors import reason_phrase

log = logging.getLogger("faultkit.proxy")

MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_HEAD_BYTES = 64 * 1024
MAX_QUEUED_REQUESTS = 64  # pipelined requests waiting; reading pauses beyond this
CLIENT_TIMEOUT_S = 60.0  # nginx's client_header_timeout; Toxiproxy's API idle timeout


@dataclass(slots=True)
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


# A handler starts answering one request. It returns a coroutine, run as the connection's task,
# whose result says whether to keep the connection open; or None when it answers by callbacks:
# it has then called, or will call, ``conn.answered(keep)`` (or ``conn.continue_in_task``).
Work = Coroutine[Any, Any, bool]
Handler = Callable[["IncomingRequest", "HttpConnection"], Work | None]


def _clean(text: str) -> bytes:
    """A header name or value as bytes, without line breaks that would split the head."""
    text = text.replace("\r", " ").replace("\n", " ")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def head_bytes(status: int, reason: str, headers: Iterable[tuple[str, str]]) -> bytes:
    """A response head on the wire: status line, headers, blank line (no framing added)."""
    lines = [b"HTTP/1.1 %d %s" % (status, _clean(reason or reason_phrase(status)))]
    lines.extend(_clean(k) + b": " + _clean(v) for k, v in headers)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def reply_bytes(
    status: int, headers: Iterable[tuple[str, str]], body: bytes, *, head_only: bool = False
) -> bytes:
    """A complete small response the server or a handler writes in one piece (an error, a
    control API reply): ``content-length`` framed; ``head_only`` for an answer to ``HEAD``."""
    framed = [*headers]
    if status >= 200 and status not in (204, 304):
        framed.append(("content-length", str(len(body))))
    else:
        body = b""
    return head_bytes(status, "", framed) + (b"" if head_only else body)


def json_error(status: int, kind: str, message: str, **extra: object) -> bytes:
    """A complete response whose JSON body names the problem (``x-faultkit-error: kind``):
    the doors' error shape."""
    body = json.dumps({"error": {"type": f"faultkit_{kind}", "message": message, **extra}})
    return reply_bytes(
        status,
        [
            ("content-type", "application/json"),
            ("x-faultkit-error", kind),
            ("x-should-retry", "false"),
        ],
        body.encode(),
    )


# The server's own error answers (400 malformed, 408, 413, 500): status, kind, message -> bytes.
ErrorReply = Callable[[int, str, str], bytes]


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} bytes"


class _TooLarge(Exception):
    """Raised from a parser callback: the request (head or body) is over its limit."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


class _ClosedParser:
    """Stands in for the parser of a closed connection (it holds no reference back)."""

    def feed_data(self, data: bytes) -> None:
        return None


_CLOSED_PARSER = _ClosedParser()


class _Callbacks:
    """An answer in progress without a task: cancelling it calls the handler's ``cancel``."""

    __slots__ = ("cancel",)

    def __init__(self, cancel: Callable[[], None]) -> None:
        self.cancel = cancel


_STARTING = _Callbacks(lambda: None)  # the handler is being called (see ``_next``)


class HttpConnection(asyncio.Protocol):
    """One client connection: parse requests, run the handler, one request at a time."""

    def __init__(
        self,
        handler: Handler,
        busy: set[HttpConnection] | None = None,
        timeout_s: float | None = CLIENT_TIMEOUT_S,
        *,
        error_reply: ErrorReply = json_error,
        max_body: int | None = None,
        opened: set[HttpConnection] | None = None,
    ) -> None:
        self._handler = handler
        self._error_reply = error_reply
        self._max_body = MAX_BODY_BYTES if max_body is None else max_body
        # Every open connection, for a server that must close idle ones too when it stops.
        self._opened = opened
        self._timeout_s = timeout_s
        self._timer: asyncio.TimerHandle | None = None
        self._heard = 0.0  # loop time of the last bytes received
        self._begun = 0.0  # loop time the request being parsed began
        # Connections with a request being answered (shutdown waits for them).
        self._busy: set[HttpConnection] = busy if busy is not None else set()
        self._loop = asyncio.get_running_loop()
        self._parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        # The answer in progress: a task, a callback answer, or None between requests.
        self._task: asyncio.Task[None] | _Callbacks | None = None
        self._again = False  # ``answered`` was called while the handler was being called
        self._queue: deque[IncomingRequest] = deque()
        self._lost = False
        self._eof = False
        self._paused_writing = False
        self._paused_reading = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._peer = ""
        # The request being parsed.
        self._url: list[bytes] = []
        self._headers: list[tuple[bytes, bytes]] = []
        self._expects_continue = False  # the request head carries Expect: 100-continue
        self._body: list[bytes] = []
        self._size = 0
        self._arrived = 0.0
        self._http11 = True
        self._keep_alive = True
        self._in_message = False
        self._headers_done = False  # the head of the request being parsed is complete
        self._partial = 0  # bytes fed since the last complete header line (bounds a huge one)
        self._continue_due = False  # a client waits for ``100 Continue`` behind a busy handler
        self._stopped = False  # no more requests on this connection (upgrade, error)
        self._broken: tuple[int, str, str] | None = None  # an error answer due after the queue
        # A handler that must finish its work after the client left (a recording still
        # streaming in from upstream) turns this off and watches ``closed`` instead.
        self.cancel_on_disconnect = True

    # -- Sink (see execute.Sink) -------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._lost or self.transport is None or self.transport.is_closing()

    @property
    def paused_writing(self) -> bool:
        """The client reads slower than we write: the caller should ``drain``."""
        return self._paused_writing

    def write(self, data: bytes) -> None:
        if not self._lost and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    async def drain(self) -> None:
        if self._paused_writing and not self._lost:
            self._drain_waiter = self._loop.create_future()
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
        if self._opened is not None:
            self._opened.add(self)
        peer = transport.get_extra_info("peername")
        self._peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._timeout_s is not None:
            self._heard = self._loop.time()
            self._timer = self._loop.call_later(self._timeout_s, self._check_timeout)

    def _check_timeout(self) -> None:
        """Fires every ``timeout_s`` at most: drop the client if it held the connection
        without using it (see the module docstring), else look again when it next could."""
        self._timer = None
        if self._lost or self.transport is None or self._timeout_s is None:
            return
        now = self._loop.time()
        due = self._heard + self._timeout_s
        if self._in_message and not self._headers_done:
            due = min(due, self._begun + self._timeout_s)
        if self._task is not None:
            due = now + self._timeout_s  # the proxy is answering: not the client's time
        if now < due:
            self._timer = self._loop.call_at(due, self._check_timeout)
            return
        if self._in_message:
            log.info("408 to %s: request not received within %gs", self._peer, self._timeout_s)
            self._fail(408, "request_timeout", f"request not received within {self._timeout_s:g}s")
        else:
            self.close()

    def data_received(self, data: bytes) -> None:
        self._heard = self._loop.time()
        if self._stopped:
            return  # after an error or an upgrade request: nothing more is read as HTTP
        if not self._headers_done:
            self._partial += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # The upgrade (or CONNECT) request itself was parsed; what follows it would be
            # another protocol, which the proxy does not speak: answer it, then close.
            self._stop_reading()
            if self._queue:
                self._queue[-1].keep_alive = False
        except httptools.HttpParserError as exc:
            cause = exc.__context__ if isinstance(exc, httptools.HttpParserCallbackError) else exc
            if isinstance(cause, _TooLarge):
                self._fail(cause.status, cause.kind, str(cause))
            else:
                self._fail(400, "bad_request", f"malformed HTTP request: {cause or exc}")
            return
        if not self._headers_done and self._partial > MAX_HEAD_BYTES:
            self._fail(400, "bad_request", "malformed HTTP request: request head over 64 KiB")
            return
        if self._task is None:
            self._next()
        elif len(self._queue) >= MAX_QUEUED_REQUESTS and not self._paused_reading:
            self._paused_reading = True
            self.transport.pause_reading()  # type: ignore[union-attr]

    def eof_received(self) -> bool:
        self._eof = True
        if self._task is not None:
            # The client went away while being answered (HTTP clients close, not half-close).
            self._lost = True
            if self.cancel_on_disconnect:
                self._task.cancel()
            return False
        if self._in_message and not self._stopped:
            self._fail(400, "bad_request", "malformed HTTP request: connection closed mid-request")
        else:
            self.close()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if self._opened is not None:
            self._opened.discard(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._task is not None and self.cancel_on_disconnect:
            self._task.cancel()
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        # Break the reference cycles (parser <-> protocol <-> transport) so a closed connection
        # is freed by reference counting at once, without waiting for the cycle collector.
        self._parser = _CLOSED_PARSER
        self._queue.clear()
        self.transport = None

    def pause_writing(self) -> None:
        self._paused_writing = True

    def resume_writing(self) -> None:
        self._paused_writing = False
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- httptools callbacks -------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._in_message = True
        self._begun = self._heard
        self._headers_done = False
        self._url = []
        self._headers = []
        self._expects_continue = False
        self._body = []
        self._size = 0
        self._partial = 0

    def on_url(self, url: bytes) -> None:
        self._url.append(url)
        self._size += len(url)
        if self._size > MAX_HEAD_BYTES:
            raise _TooLarge(400, "bad_request", "malformed HTTP request: request head over 64 KiB")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))
        # Looked at here, not in a second pass over every header (the hot path).
        if len(name) == 6 and name.lower() == b"expect":
            self._expects_continue |= value.strip().lower() == b"100-continue"
        self._partial = 0
        self._size += len(name) + len(value) + 4
        if self._size > MAX_HEAD_BYTES:
            raise _TooLarge(400, "bad_request", "malformed HTTP request: request head over 64 KiB")

    def on_headers_complete(self) -> None:
        self._headers_done = True
        self._partial = 0
        self._arrived = self._loop.time()
        parser = self._parser
        self._http11 = parser.get_http_version() == "1.1"
        self._keep_alive = parser.should_keep_alive()
        self._size = 0
        if self._http11 and self._expects_continue:
            if self._task is None and not self._queue:
                self.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            else:
                self._continue_due = True

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self._max_body:
            raise _TooLarge(413, "too_large", f"request body over {_size(self._max_body)}")
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._in_message = False
        self._headers_done = False
        body = self._body
        self._queue.append(
            IncomingRequest(
                self._parser.get_method().decode("ascii", "replace"),
                b"".join(self._url).decode("latin-1"),
                tuple([(k.decode("latin-1"), v.decode("latin-1")) for k, v in self._headers]),
                body[0] if len(body) == 1 else b"".join(body),
                self._http11,
                self._keep_alive,
                self._arrived,
                self._peer,
            )
        )

    # -- answering ---------------------------------------------------------------------------
    def _stop_reading(self) -> None:
        self._stopped = True
        if not self._paused_reading and self.transport is not None:
            self._paused_reading = True
            with contextlib.suppress(RuntimeError):
                self.transport.pause_reading()

    def _fail(self, status: int, kind: str, message: str) -> None:
        """Answer ``status`` and close: now, or after the requests already queued."""
        self._stop_reading()
        self._in_message = False
        self._broken = (status, kind, message)
        if self._task is None:
            self._next()

    def _next(self) -> None:
        """Start the next queued request, or finish the connection if nothing more comes."""
        while True:
            if self.closed:
                return
            if self._continue_due:
                self._continue_due = False
                self.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            if self._queue:
                if not self._start(self._queue.popleft()):
                    return
                continue  # answered at once: on to the next request
            if self._broken is not None:
                status, kind, message = self._broken
                log.info("%d to %s: %s", status, self._peer, message)
                self.write(self._error_reply(status, kind, message))
                self.close()
            elif self._eof or self._stopped:
                self.close()
            elif self._paused_reading:
                self._paused_reading = False
                self.transport.resume_reading()  # type: ignore[union-attr]
            return

    def _start(self, request: IncomingRequest) -> bool:
        """Call the handler for ``request``; True when it answered before returning."""
        self._busy.add(self)
        self._task = _STARTING
        self._again = False
        try:
            work = self._handler(request, self)
        except Exception:
            self._task = None
            self.internal_error(request)
            return False
        if work is not None:
            self._task = self._loop.create_task(self._run(request, work))
            return False
        if self._task is _STARTING:
            # The handler must answer, wait for callbacks or hand over a coroutine.
            raise RuntimeError("handler returned None without answering")  # pragma: no cover
        answered, self._again = self._again, False
        return answered

    def answered(self, keep: bool) -> None:
        """The handler's answer is complete; keep the connection open when ``keep``."""
        starting = self._task is _STARTING
        self._task = None
        self._heard = self._loop.time()  # the client's silence counts from the answer's end
        self._busy.discard(self)
        self.cancel_on_disconnect = True
        if not keep or self.closed:
            self.close()
        elif starting:
            self._again = True  # ``_next`` goes on with the queue
        else:
            self._next()

    def await_callbacks(self, cancel: Callable[[], None]) -> None:
        """The handler answers later, from callbacks; ``cancel`` is called instead of
        cancelling a task when the client leaves (it must call ``answered``)."""
        self._task = _Callbacks(cancel)

    def continue_in_task(self, request: IncomingRequest, work: Work) -> None:
        """Finish a callback answer in a coroutine, as if the handler had returned it."""
        self._task = self._loop.create_task(self._run(request, work))

    def internal_error(self, request: IncomingRequest) -> None:
        """Answer a 500 for a request whose handler raised, and close the connection."""
        log.exception("error answering %s %s", request.method, request.target)
        self.write(self._error_reply(500, "internal", "faultkit error; see its log"))
        self.answered(False)

    async def _run(self, request: IncomingRequest, work: Work) -> None:
        try:
            keep = await work and request.keep_alive
        except asyncio.CancelledError:
            keep = False
        except Exception:
            self.internal_error(request)
            return
        self.answered(keep)


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

    def __init__(self, host: str, port: int, exc: OSError, what: str = "") -> None:
        self.errno = exc.errno
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        prefix = f"{what}: " if what else ""
        super().__init__(f"{prefix}cannot listen on {host}:{port}: {reason.lower()}")


async def listen(
    handler: Handler,
    host: str,
    port: int,
    *,
    busy: set[HttpConnection] | None = None,
    what: str = "",
    client_timeout_s: float | None = CLIENT_TIMEOUT_S,
    error_reply: ErrorReply = json_error,
    max_body: int | None = None,
    opened: set[HttpConnection] | None = None,
    sock: socket.socket | None = None,
) -> Listener:
    """Bind ``host:port`` (0 = a free port), or serve on ``sock`` already bound, and serve
    ``handler``; ``busy`` holds the connections with a request being answered, ``opened``
    every open one; a client idle or slow for ``client_timeout_s`` is dropped (None: never).
    Raises :class:`BindError` (naming ``what`` the listener is for) when the address cannot
    be bound."""
    loop = asyncio.get_running_loop()

    def connection() -> HttpConnection:
        return HttpConnection(
            handler,
            busy,
            client_timeout_s,
            error_reply=error_reply,
            max_body=max_body,
            opened=opened,
        )

    try:
        if sock is not None:
            server = await loop.create_server(connection, sock=sock, backlog=1024)
        else:
            server = await loop.create_server(
                connection, host, port, reuse_address=True, backlog=1024
            )
    except OSError as exc:
        raise BindError(host, port, exc, what) from None
    sockname = server.sockets[0].getsockname()
    return Listener(server, sockname[0], sockname[1])
