"""A door: the listener for one upstream, answering each request through the engine.

Per request: split off the ``x-faultkit-*`` headers (they choose the fault context), rebuild the
request as the SUT meant it (the real upstream URL, so recordings made in-process and through
the proxy match each other), ``select`` the faults, then either replay the plan the engine
makes from a recording, or forward to the real upstream:

- with no fault firing, the upstream's answer streams through chunk by chunk as it arrives
  (and is recorded, timed, in ``record`` mode);
- with a fault firing, the answer is read whole, the engine applies the faults, and the plan
  is executed: a fault edits a complete plan, so that request is buffered.

A request that no recording matches in ``replay`` mode gets a 502 whose JSON body names the
closest recordings, and never reaches the network.

The common cases are answered without an asyncio task (see :mod:`.server`): a replayed
response due at once is written from the request's own callback, and a pass-through request
with an idle upstream connection at hand is sent upstream there and answered from that
connection's callbacks, its body chunk by chunk as it arrives (:class:`_PassThrough`).
Whatever has to wait (a planned delay, a client's full buffer, a new connection, a fault)
continues in a coroutine. Measured by ``benchmarks/proxy_hotpath.py`` and, over loopback,
``benchmarks/proxy_overhead.py``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from faultkit.doors.flow import note_response_head
from faultkit.engine import Engine, Selection
from faultkit.errors import FaultkitError, UnmatchedRequest
from faultkit.exchange import Request
from faultkit.plan import Plan

from .config import Upstream
from .execute import Outcome, error_head, execute, execute_now
from .headers import CONTROL_HEADERS, ContextKey, HeaderError, split_control_headers
from .server import HttpConnection, IncomingRequest, Work, json_error
from .upstream import SEPARATE_WRITE_BYTES, Capture, UpstreamError, UpstreamResponse

if TYPE_CHECKING:
    from .proxy import Proxy

log = logging.getLogger("faultkit.proxy")

NO_BODY_STATUS = (204, 304)
DEFAULT_CONTEXT = ContextKey()
DRAIN_AFTER_CLIENT_S = 5.0


def _framed(chunk: bytes, framing: str) -> bytes:
    return b"%x\r\n%b\r\n" % (len(chunk), chunk) if framing == "chunked" else chunk


def _answered(conn: HttpConnection, keep: bool) -> None:
    """Tell ``conn`` its request was answered; ``None`` for :meth:`Door.handle` to return."""
    conn.answered(keep)


@dataclass(slots=True)
class _Passing:
    """A pass-through answer whose head went out: how its body is framed, what was sent."""

    keep: bool
    framing: str
    sent: int
    done: bool  # the whole answer went out with the head


def _forward_chunk(
    conn: HttpConnection, response: UpstreamResponse, passing: _Passing, chunk: bytes
) -> None:
    """One body chunk to the client, framed; the upstream is paused when the client's buffer
    is full (whoever forwards waits for it to drain)."""
    if passing.framing == "none":
        return
    passing.sent += len(chunk)
    conn.write(_framed(chunk, passing.framing))
    if conn.paused_writing:
        response.pause()


class _PassThrough:
    """One pass-through answer driven by the upstream connection's callbacks, no task.

    :meth:`on_event` runs after each read from the upstream: the head goes to the client
    with the body bytes that came along, each later chunk as it arrives, and the answer is
    finished when the body is. A task takes over (:meth:`Door._stream_rest`) only when the
    client reads slower than the upstream sends, to wait for its buffer to drain, or when the
    upstream breaks off mid-body; a fresh connection is tried in a task when a pooled one
    turns out to have been closed.
    """

    __slots__ = ("conn", "door", "engine", "exchange", "incoming", "passing", "selection")

    def __init__(
        self,
        door: Door,
        engine: Engine,
        selection: Selection,
        incoming: IncomingRequest,
        conn: HttpConnection,
    ) -> None:
        self.door = door
        self.engine = engine
        self.selection = selection
        self.incoming = incoming
        self.conn = conn
        self.exchange: UpstreamResponse | None = None
        self.passing: _Passing | None = None

    def on_event(self) -> None:
        try:
            self._advance()
        except Exception as exc:
            self._detach()
            self.door._failed(self.engine, self.selection, exc)
            self.conn.internal_error(self.incoming)

    def _advance(self) -> None:
        door, engine, selection = self.door, self.engine, self.selection
        conn, exchange = self.conn, self.exchange
        assert exchange is not None
        passing = self.passing
        if passing is None:
            capture = exchange.capture
            if capture is None:  # no head: the upstream failed
                self._detach()
                if not exchange.received and exchange.connection.reused:
                    # A kept-alive connection the upstream had closed meanwhile: the coroutine
                    # path tries once more on a new connection, as ``Upstreams.open`` does.
                    self._continue(door._forward(engine, selection, self.incoming, conn))
                    return
                error = exchange.error or UpstreamError("no answer")
                keep = door._upstream_failed(engine, selection, self.incoming, conn, error)
                conn.answered(keep)
                return
            passing = self.passing = door._pass_head(
                engine, selection, self.incoming, conn, capture, exchange, False
            )
            if passing.done:
                self._detach()
                conn.answered(passing.keep)
                return
            exchange.set_sink(self._sink)
        if exchange.paused or (exchange.done and exchange.error is not None):
            # The client's buffer must drain first, or the upstream broke off mid-body (the
            # client gets a reset there): a task finishes the answer.
            self._detach()
            capture = exchange.capture
            assert capture is not None
            rest = door._stream_rest(engine, selection, conn, capture, exchange, False, passing)
            self._continue(rest)
        elif exchange.done:
            self._detach()
            self._finish(passing)

    def _finish(self, passing: _Passing) -> None:
        """The whole body went through (or the client left while it did)."""
        capture = self.exchange.capture if self.exchange is not None else None
        assert capture is not None
        keep = self.door._end_body(self.engine, self.selection, self.conn, capture, passing)
        self.conn.answered(keep)

    def _sink(self, chunk: bytes) -> None:
        """A body chunk from the upstream, straight to the client (called while reading)."""
        conn, exchange, passing = self.conn, self.exchange, self.passing
        assert exchange is not None and passing is not None
        if conn.closed:
            exchange.abort()
        else:
            _forward_chunk(conn, exchange, passing, chunk)

    def cancel(self) -> None:
        """The client left before the answer was complete."""
        exchange = self.exchange
        if exchange is not None:
            exchange.abort()
        self._detach()
        entry = self.selection.entry
        if entry.ending == "pending":
            sent = self.passing.sent if self.passing is not None else 0
            now = self.door.proxy.now_ms()
            self.engine.ledger.finish(entry.id, ending="client_closed", end_ms=now, bytes_sent=sent)
        self.conn.answered(False)

    def _detach(self) -> None:
        if self.exchange is not None:
            self.exchange.set_listener(None)

    def _continue(self, work: Work) -> None:
        guarded = self.door._guarded(self.engine, self.selection, work)
        self.conn.continue_in_task(self.incoming, guarded)


def _is_push_stream(request: Request) -> bool:
    """A ``GET`` that opens a server-to-client event stream (MCP's optional GET channel): a
    channel that lasts as long as the session, not an exchange to record and replay."""
    accept = (request.header("accept") or "").lower()
    return request.method == "GET" and "text/event-stream" in accept


class Door:
    """Answers requests for one upstream on its own port."""

    def __init__(self, upstream: Upstream, proxy: Proxy) -> None:
        self.upstream = upstream
        self.proxy = proxy
        self.route = upstream.name
        self._origin = upstream.origin
        self._host = urlsplit(self._origin).netloc

    # -- request -----------------------------------------------------------------------------
    def _request(self, incoming: IncomingRequest) -> tuple[ContextKey, Request]:
        """The request as the SUT meant it (real upstream URL and host, no control headers)
        and the fault context its ``x-faultkit-*`` headers choose. One pass over the headers
        in the common case of none."""
        headers: list[tuple[str, str]] = []
        control = False
        for pair in incoming.headers:
            lname = pair[0].lower()
            if lname == "host":
                continue
            if lname in CONTROL_HEADERS:
                control = True
                continue
            headers.append(pair)
        headers.append(("host", self._host))
        key = split_control_headers(incoming.headers)[0] if control else DEFAULT_CONTEXT
        target = incoming.target
        if target.startswith(("http://", "https://")):  # absolute-form (client set us as proxy)
            parts = urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        if not target.startswith("/"):
            target = "/" + target
        request = Request(
            method=incoming.method.upper(),
            url=self._origin + target,
            headers=tuple(headers),
            body=incoming.body,
        )
        return key, request

    def handle(self, incoming: IncomingRequest, conn: HttpConnection) -> Work | None:
        """Start answering one request (a :data:`~.server.Handler`): None when it was
        answered at once or is answered by callbacks, else the coroutine that answers it."""
        proxy = self.proxy
        key, request = self._request(incoming)
        try:
            engine = proxy.state.engine_for(key)
        except HeaderError as exc:
            conn.write(json_error(400, "bad_header", str(exc)))
            return _answered(conn, incoming.keep_alive)
        selection = engine.select(
            request, self.route, proxy.now_ms(incoming.arrived_at), time.time()
        )
        try:
            if proxy.mode == "replay" or not selection.needs_source:
                return self._replay(engine, selection, incoming, conn, None)
            if proxy.mode == "new_episodes" and proxy.source is not None:
                try:
                    recording = proxy.source.match(request)
                except UnmatchedRequest:
                    pass
                else:
                    selection.entry.recording = recording.source
                    return self._replay(engine, selection, incoming, conn, recording.response)
            if (
                proxy.mode == "passthrough"
                and not selection.firings
                and self._forward_now(engine, selection, incoming, conn)
            ):
                return None
        except Exception as exc:
            self._failed(engine, selection, exc)
            raise
        return self._guarded(engine, selection, self._forward(engine, selection, incoming, conn))

    async def _guarded(self, engine: Engine, selection: Selection, work: Work) -> bool:
        """``work``, with its ledger entry closed however it ends."""
        try:
            return await work
        except asyncio.CancelledError:
            if selection.entry.ending == "pending":
                engine.ledger.finish(
                    selection.entry.id, ending="client_closed", end_ms=self.proxy.now_ms()
                )
            raise
        except Exception as exc:
            self._failed(engine, selection, exc)
            raise

    def _failed(self, engine: Engine, selection: Selection, exc: Exception) -> None:
        if selection.entry.ending == "pending":
            engine.ledger.finish(
                selection.entry.id, ending="error", end_ms=self.proxy.now_ms(), error=f"{exc}"
            )

    # -- replay ------------------------------------------------------------------------------
    def _replay(
        self,
        engine: Engine,
        selection: Selection,
        incoming: IncomingRequest,
        conn: HttpConnection,
        response: Any,
    ) -> Work | None:
        entry = selection.entry
        proxy = self.proxy
        try:
            plan = engine.plan(selection, response)
        except UnmatchedRequest as exc:
            if _is_push_stream(selection.request):
                # Push channels are never recorded; answer as a server without one (the MCP
                # spec's 405), so a client carries on with plain request/response.
                conn.write(error_head(405, [("allow", "POST, DELETE")], b""))
                engine.ledger.finish(
                    entry.id, ending="unmatched", end_ms=proxy.now_ms(), error="push stream"
                )
                return _answered(conn, incoming.keep_alive)
            conn.write(
                json_error(
                    502,
                    "unmatched",
                    str(exc),
                    method=exc.method,
                    url=exc.url,
                    closest=exc.closest,
                )
            )
            engine.ledger.finish(
                entry.id, ending="unmatched", end_ms=proxy.now_ms(), error=str(exc)
            )
            return _answered(conn, incoming.keep_alive)
        except FaultkitError as exc:
            conn.write(json_error(500, "fault_error", str(exc)))
            engine.ledger.finish(entry.id, ending="error", end_ms=proxy.now_ms(), error=str(exc))
            return _answered(conn, incoming.keep_alive)
        outcome = execute_now(
            plan,
            conn,
            start=incoming.arrived_at,
            method=incoming.method,
            http11=incoming.http11,
            keep_alive=incoming.keep_alive,
        )
        if outcome is not None:
            self._finish(engine, selection, outcome)
            return _answered(conn, outcome.keep_alive)
        return self._guarded(
            engine,
            selection,
            self._execute(engine, selection, incoming, conn, plan, incoming.arrived_at),
        )

    async def _execute(
        self,
        engine: Engine,
        selection: Selection,
        incoming: IncomingRequest,
        conn: HttpConnection,
        plan: Plan,
        start: float,
    ) -> bool:
        proxy = self.proxy
        entry = selection.entry
        outcome = await execute(
            plan,
            conn,
            start=start,
            method=incoming.method,
            http11=incoming.http11,
            keep_alive=incoming.keep_alive,
            on_head=lambda at: setattr(entry, "first_byte_ms", proxy.now_ms(at)),
        )
        self._finish(engine, selection, outcome)
        return outcome.keep_alive

    def _finish(self, engine: Engine, selection: Selection, outcome: Outcome) -> None:
        now_ms = self.proxy.now_ms
        engine.ledger.finish(
            selection.entry.id,
            ending=outcome.ending,
            end_ms=now_ms(),
            first_byte_ms=now_ms(outcome.first_byte_at) if outcome.first_byte_at else None,
            bytes_sent=outcome.bytes_sent,
            error=outcome.error,
        )

    # -- forward -----------------------------------------------------------------------------
    async def _forward(
        self,
        engine: Engine,
        selection: Selection,
        incoming: IncomingRequest,
        conn: HttpConnection,
    ) -> bool:
        proxy = self.proxy
        request = selection.request
        record = proxy.mode in ("record", "new_episodes")
        if selection.firings:
            try:
                capture = await proxy.upstreams.fetch(request)
            except UpstreamError as exc:
                return self._upstream_failed(engine, selection, incoming, conn, exc)
            if record:
                proxy.record(self.route, request, capture.response())
            plan = engine.plan(selection, capture.response(timed=False))
            return await self._execute(
                engine, selection, incoming, conn, plan, asyncio.get_running_loop().time()
            )
        try:
            capture, response = await proxy.upstreams.open(request, keep_body=record)
        except UpstreamError as exc:
            return self._upstream_failed(engine, selection, incoming, conn, exc)
        passing = self._pass_head(engine, selection, incoming, conn, capture, response, record)
        if passing.done:
            return passing.keep
        return await self._stream_rest(engine, selection, conn, capture, response, record, passing)

    def _forward_now(
        self,
        engine: Engine,
        selection: Selection,
        incoming: IncomingRequest,
        conn: HttpConnection,
    ) -> bool:
        """Pass a request through without a task: sent up on an idle pooled connection and
        answered from that connection's callbacks (see :class:`_PassThrough`). False when no
        idle connection is at hand: the coroutine path connects."""
        passing = _PassThrough(self, engine, selection, incoming, conn)
        exchange = self.proxy.upstreams.start_idle(selection.request, passing.on_event)
        if exchange is None:
            return False
        passing.exchange = exchange
        conn.await_callbacks(passing.cancel)
        return True

    def _pass_head(
        self,
        engine: Engine,
        selection: Selection,
        incoming: IncomingRequest,
        conn: HttpConnection,
        capture: Capture,
        response: UpstreamResponse,
        record: bool,
    ) -> _Passing:
        """Write the upstream's head and the body bytes that came with it, framed for this
        client; when that was the whole answer, close the ledger entry (``done``)."""
        proxy = self.proxy
        entry = selection.entry
        status = capture.status
        note_response_head(entry, capture)
        no_body = incoming.method == "HEAD" or status < 200 or status in NO_BODY_STATUS
        length = capture.content_length
        if no_body:
            framing = "none"
        elif length is not None and length.strip().isdigit() and capture.transfer_encoding is None:
            framing = "length"
        else:
            framing = "chunked" if incoming.http11 else "close"
        keep = incoming.keep_alive and framing != "close"
        extra = b""
        if framing == "length":
            extra = b"content-length: " + length.strip() + b"\r\n"  # type: ignore[union-attr]
        elif framing == "chunked":
            extra = b"transfer-encoding: chunked\r\n"
        if not keep:
            extra += b"connection: close\r\n"
        first = capture.encode_client_head(extra)
        sent = 0
        early = response.early if framing != "none" else b""
        complete = response.done and response.error is None
        if early:
            sent = len(early)
            if len(early) < SEPARATE_WRITE_BYTES:
                first += _framed(early, framing)
                early = b""
        if complete and framing == "chunked" and not early:
            first += b"0\r\n\r\n"
        conn.write(first)
        if early:
            # A large body is written behind its head as it is, not copied onto it.
            conn.write(_framed(early, framing))
            if complete and framing == "chunked":
                conn.write(b"0\r\n\r\n")
        entry.first_byte_ms = now_ms = proxy.now_ms()
        if complete:
            engine.ledger.finish(entry.id, ending="completed", end_ms=now_ms, bytes_sent=sent)
            if record:
                proxy.record(self.route, selection.request, capture.response())
        return _Passing(keep, framing, sent, complete)

    async def _stream_rest(
        self,
        engine: Engine,
        selection: Selection,
        conn: HttpConnection,
        capture: Capture,
        response: UpstreamResponse,
        record: bool,
        passing: _Passing,
    ) -> bool:
        """Forward the rest of a body chunk by chunk as it arrives (after :meth:`_pass_head`)."""
        proxy = self.proxy
        entry = selection.entry
        # A recording must not depend on how much the client read: an SDK hangs up right
        # after ``data: [DONE]``. While recording, a client leaving stops the writing, not
        # the reading (for at most DRAIN_AFTER_CLIENT_S).
        recording = record and not _is_push_stream(selection.request)
        if recording:
            conn.cancel_on_disconnect = False
        late = 0  # bytes that arrived upstream after the client had left
        gone_at: float | None = None

        def sink(chunk: bytes) -> None:
            # Called from the upstream connection's ``data_received``: each chunk goes to the
            # client the moment it arrives, without waking this task.
            nonlocal late, gone_at
            if conn.closed:
                if not recording:
                    response.abort()
                    return
                late += len(chunk)
                now = time.monotonic()
                gone_at = gone_at or now
                if now - gone_at > DRAIN_AFTER_CLIENT_S:
                    response.abort()
                return
            _forward_chunk(conn, response, passing, chunk)

        response.set_sink(sink)
        try:
            while not response.done:
                await response.wait()
                if response.paused:
                    await conn.drain()
                    response.resume()
            if response.error is not None:
                raise response.error
        except UpstreamError as exc:
            # The upstream broke off mid-body: the client sees the same, a cut connection.
            conn.reset()
            engine.ledger.finish(
                entry.id,
                ending="reset",
                end_ms=proxy.now_ms(),
                bytes_sent=passing.sent,
                error=f"upstream: {exc}",
            )
            return False
        finally:
            response.abort()  # nothing when complete; else stop reading and drop the connection
        if recording and capture.complete:
            proxy.record(self.route, selection.request, capture.response())
        return self._end_body(engine, selection, conn, capture, passing, late)

    def _end_body(
        self,
        engine: Engine,
        selection: Selection,
        conn: HttpConnection,
        capture: Capture,
        passing: _Passing,
        late: int = 0,
    ) -> bool:
        """Close a forwarded body and its ledger entry; whether the connection may be kept.
        A client that left did so early, or only after everything worth reading (nothing
        ``late``) had been sent."""
        if conn.closed:
            ending = "completed" if capture.complete and not late else "client_closed"
            keep = False
        else:
            if passing.framing == "chunked":
                conn.write(b"0\r\n\r\n")
            ending, keep = "completed", passing.keep
        engine.ledger.finish(
            selection.entry.id, ending=ending, end_ms=self.proxy.now_ms(), bytes_sent=passing.sent
        )
        return keep

    def _upstream_failed(
        self,
        engine: Engine,
        selection: Selection,
        incoming: IncomingRequest,
        conn: HttpConnection,
        exc: UpstreamError,
    ) -> bool:
        message = f"upstream {self.upstream.name} ({self.upstream.origin}) failed: {exc}"
        log.warning("%s", message)
        conn.write(json_error(502, "upstream", message))
        engine.ledger.finish(
            selection.entry.id, ending="error", end_ms=self.proxy.now_ms(), error=message
        )
        return incoming.keep_alive


def clock(origin: float) -> Callable[[float | None], float]:
    """ms since ``origin`` (monotonic seconds) of a monotonic time, or of now, to the us."""

    def now_ms(at: float | None = None) -> float:
        # int() rather than round(x, 3): a third of the cost, three times per request
        return int(((time.monotonic() if at is None else at) - origin) * 1e6 + 0.5) / 1000

    return now_ms
