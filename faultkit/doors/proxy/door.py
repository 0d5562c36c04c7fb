"""A door: the listener for one upstream, answering each request through the engine.

Per request: split off the ``x-faultkit-*`` headers (they choose the fault context), rebuild the
request as the SUT meant it (the real upstream URL, so recordings made in-process and through
the proxy match each other), and open its :class:`~faultkit.doors.flow.ExchangeFlow`, which
decides everything the request means (replay or forward, record or not, the ledger entry and
its ending), as it does for the in-process door; the door only reads and writes. The flow
either hands it the plan to replay, or has it forward to the real upstream:

- with no fault firing, the upstream's answer streams through chunk by chunk as it arrives
  (and is recorded, timed, in ``record`` mode);
- with a fault firing, the answer goes through the faults as it arrives (a lazy plan,
  :mod:`.live`): stream faults keep its real timing; only a whole-body fault holds it whole.

A request that no recording matches in ``replay`` mode gets a 502 whose JSON body names the
closest recordings, and never reaches the network.

The common cases are answered without an asyncio task (see :mod:`.server`): a replayed
response due at once is written from the request's own callback, and a pass-through request
with an idle upstream connection at hand is sent upstream there and answered from that
connection's callbacks, its body chunk by chunk as it arrives (:class:`_PassThrough`).
Whatever has to wait (a planned delay, a client's full buffer, a new connection, a fault)
continues in a coroutine. Both are the same request to the flow; only the executor differs.
They earned their place in ``benchmarks/proxy_hotpath.py``: one task for every request cost
the pass-through case 60-70% more CPU and the replay case 5-30% (2026-12-07; see
``benchmarks/README.md``).
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from faultkit.doors.flow import (
    RECORDING_MODES,
    Capture,
    ExchangeFlow,
    Forward,
    Replay,
    is_push_stream,
)
from faultkit.doors.http1 import HttpConnection, IncomingRequest, Work, json_error, reply_bytes
from faultkit.errors import FaultkitError, UnmatchedRequest
from faultkit.exchange import Request
from faultkit.plan import Plan

from .config import Upstream
from .execute import Delivery, encode_live_head, execute, execute_now
from .headers import CONTROL_HEADERS, ContextKey, HeaderError, split_control_headers
from .host import DoorHost
from .live import play_live
from .upstream import SEPARATE_WRITE_BYTES, UpstreamError, UpstreamResponse

log = logging.getLogger("faultkit.proxy")

NO_BODY_STATUS = (204, 304)
DEFAULT_CONTEXT = ContextKey()
DRAIN_AFTER_CLIENT_S = 5.0


def _framed(chunk: bytes, framing: str) -> bytes:
    return b"%x\r\n%b\r\n" % (len(chunk), chunk) if framing == "chunked" else chunk


@dataclass(slots=True)
class _Passing:
    """A pass-through answer whose head went out: how its body is framed."""

    keep: bool
    framing: str
    done: bool  # the whole answer went out with the head


def _forward_chunk(
    flow: ExchangeFlow,
    conn: HttpConnection,
    response: UpstreamResponse,
    passing: _Passing,
    chunk: bytes,
) -> None:
    """One body chunk to the client, framed; the upstream is paused when the client's buffer
    is full (whoever forwards waits for it to drain)."""
    if passing.framing == "none":
        return
    flow.bytes_sent += len(chunk)
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

    __slots__ = ("conn", "door", "exchange", "flow", "incoming", "passing")

    def __init__(
        self, door: Door, flow: ExchangeFlow, incoming: IncomingRequest, conn: HttpConnection
    ) -> None:
        self.door = door
        self.flow = flow
        self.incoming = incoming
        self.conn = conn
        self.exchange: UpstreamResponse | None = None
        self.passing: _Passing | None = None

    def on_event(self) -> None:
        try:
            self._advance()
        except Exception as exc:
            self._detach()
            self.flow.failed(exc)
            self.conn.internal_error(self.incoming)

    def _advance(self) -> None:
        door, flow, conn, exchange = self.door, self.flow, self.conn, self.exchange
        assert exchange is not None
        passing = self.passing
        if passing is None:
            capture = exchange.capture
            if capture is None:  # no head: the upstream failed
                self._detach()
                if not exchange.received and exchange.connection.reused:
                    # A kept-alive connection the upstream had closed meanwhile: the coroutine
                    # path tries once more on a new connection, as ``Upstreams.open`` does.
                    self._continue(door._forward(flow, Forward(False, False), self.incoming, conn))
                    return
                error = exchange.error or UpstreamError("no answer")
                keep = door._upstream_failed(flow, self.incoming, conn, error)
                conn.answered(keep)
                return
            passing = self.passing = door._pass_head(flow, self.incoming, conn, capture, exchange)
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
            self._continue(door._stream_rest(flow, conn, capture, exchange, passing))
        elif exchange.done:
            self._detach()
            self.conn.answered(door._end_body(flow, self.conn, passing))

    def _sink(self, chunk: bytes) -> None:
        """A body chunk from the upstream, straight to the client (called while reading)."""
        conn, exchange, passing = self.conn, self.exchange, self.passing
        assert exchange is not None and passing is not None
        if conn.closed:
            exchange.abort()
        else:
            _forward_chunk(self.flow, conn, exchange, passing, chunk)

    def cancel(self) -> None:
        """The client left before the answer was complete."""
        exchange = self.exchange
        if exchange is not None:
            exchange.abort()
        self._detach()
        self.flow.client_gone()
        self.conn.answered(False)

    def _detach(self) -> None:
        if self.exchange is not None:
            self.exchange.set_listener(None)

    def _continue(self, work: Work) -> None:
        self.conn.continue_in_task(self.incoming, self.door._guarded(self.flow, work))


class Door:
    """Answers requests for one upstream on its own port."""

    def __init__(self, upstream: Upstream, proxy: DoorHost) -> None:
        self.upstream = upstream
        self.proxy = proxy
        self.route = upstream.name
        self._origin = upstream.origin
        self._host = urlsplit(self._origin).netloc
        self._recorder = (
            functools.partial(proxy.record, self.route) if proxy.mode in RECORDING_MODES else None
        )

    # -- request -----------------------------------------------------------------------------
    def _request(self, incoming: IncomingRequest) -> tuple[ContextKey, Request]:
        """The request as the SUT meant it (real upstream URL and host, no control headers)
        and the fault context its ``x-faultkit-*`` headers choose. One pass over the headers
        in the common case of none, which also indexes them for the request's lookups."""
        headers: list[tuple[str, str]] = []
        index: dict[str, str] = {}
        control = False
        for pair in incoming.headers:
            lname = pair[0].lower()
            if lname == "host":
                continue
            if lname in CONTROL_HEADERS:
                control = True
                continue
            headers.append(pair)
            if lname not in index:
                index[lname] = pair[1]
        headers.append(("host", self._host))
        index["host"] = self._host
        key = split_control_headers(incoming.headers)[0] if control else DEFAULT_CONTEXT
        target = incoming.target
        if target.startswith(("http://", "https://")):  # absolute-form (client set us as proxy)
            parts = urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        if not target.startswith("/"):
            target = "/" + target
        request = Request.from_door(
            incoming.method.upper(),
            self._origin + target,
            tuple(headers),
            incoming.body,
            index,
        )
        return key, request

    def handle(self, incoming: IncomingRequest, conn: HttpConnection) -> Work | None:
        """Start answering one request (a :data:`~.server.Handler`): None when it was
        answered at once or is answered by callbacks, else the coroutine that answers it.
        What the request means (replay or forward, record or not, its ledger entry and its
        ending) is its :class:`ExchangeFlow`'s to decide; the door writes and reads."""
        proxy = self.proxy
        key, request = self._request(incoming)
        try:
            engine = proxy.state.engine_for(key)
        except HeaderError as exc:
            conn.write(json_error(400, "bad_header", str(exc)))
            conn.answered(incoming.keep_alive)
            return None
        flow = ExchangeFlow(
            engine,
            request,
            self.route,
            mode=proxy.mode,
            clock=proxy.now_ms,
            arrived_at=incoming.arrived_at,
            wall_s=time.time(),
            recorder=self._recorder,
        )
        try:
            decision = flow.decide()
        except UnmatchedRequest as exc:
            self._unmatched(conn, exc, is_push_stream(request))
            conn.answered(incoming.keep_alive)
            return None
        except FaultkitError as exc:
            flow.failed(exc)
            conn.write(json_error(500, "fault_error", str(exc)))
            conn.answered(incoming.keep_alive)
            return None
        except Exception as exc:
            flow.failed(exc)
            raise
        if type(decision) is Replay:
            return self._replay(flow, incoming, conn, decision.plan)
        if not (decision.whole or decision.record) and self._forward_now(flow, incoming, conn):
            return None
        return self._guarded(flow, self._forward(flow, decision, incoming, conn))

    async def _guarded(self, flow: ExchangeFlow, work: Work) -> bool:
        """``work``, with its ledger entry closed however it ends."""
        try:
            return await work
        except BaseException as exc:
            flow.failed(exc)
            raise

    @staticmethod
    def _unmatched(conn: HttpConnection, exc: UnmatchedRequest, push: bool) -> None:
        if push:
            # Push channels are never recorded; answer as a server without one (the MCP
            # spec's 405), so a client carries on with plain request/response.
            conn.write(reply_bytes(405, [("allow", "POST, DELETE")], b""))
            return
        conn.write(
            json_error(
                502, "unmatched", str(exc), method=exc.method, url=exc.url, closest=exc.closest
            )
        )

    # -- replay ------------------------------------------------------------------------------
    def _replay(
        self, flow: ExchangeFlow, incoming: IncomingRequest, conn: HttpConnection, plan: Plan
    ) -> Work | None:
        delivery = execute_now(
            plan,
            conn,
            start=incoming.arrived_at,
            method=incoming.method,
            http11=incoming.http11,
            keep_alive=incoming.keep_alive,
        )
        if delivery is not None:
            _played(flow, plan, delivery)
            conn.answered(delivery.keep_alive)
            return None
        return self._guarded(flow, self._execute(flow, incoming, conn, plan, incoming.arrived_at))

    async def _execute(
        self,
        flow: ExchangeFlow,
        incoming: IncomingRequest,
        conn: HttpConnection,
        plan: Plan,
        start: float,
    ) -> bool:
        delivery = await execute(
            plan,
            conn,
            start=start,
            method=incoming.method,
            http11=incoming.http11,
            keep_alive=incoming.keep_alive,
            on_head=flow.head_sent,
        )
        _played(flow, plan, delivery)
        return delivery.keep_alive

    # -- forward -----------------------------------------------------------------------------
    async def _forward(
        self, flow: ExchangeFlow, forward: Forward, incoming: IncomingRequest, conn: HttpConnection
    ) -> bool:
        upstreams = self.proxy.upstreams
        assert upstreams is not None
        try:
            capture, response = await upstreams.open(flow.request, keep_body=forward.record)
        except UpstreamError as exc:
            return self._upstream_failed(flow, incoming, conn, exc)
        if forward.whole:
            # A fault fires on it: through the faults as it arrives (a lazy plan).
            return await play_live(flow, incoming, conn, capture, response)
        passing = self._pass_head(flow, incoming, conn, capture, response)
        if passing.done:
            return passing.keep
        return await self._stream_rest(flow, conn, capture, response, passing)

    def _forward_now(
        self, flow: ExchangeFlow, incoming: IncomingRequest, conn: HttpConnection
    ) -> bool:
        """Pass a request through without a task: sent up on an idle pooled connection and
        answered from that connection's callbacks (see :class:`_PassThrough`). False when no
        idle connection is at hand: the coroutine path connects."""
        passing = _PassThrough(self, flow, incoming, conn)
        exchange = self.proxy.upstreams.start_idle(flow.request, passing.on_event)  # type: ignore[union-attr]
        if exchange is None:
            return False
        passing.exchange = exchange
        conn.await_callbacks(passing.cancel)
        return True

    def _pass_head(
        self,
        flow: ExchangeFlow,
        incoming: IncomingRequest,
        conn: HttpConnection,
        capture: Capture,
        response: UpstreamResponse,
    ) -> _Passing:
        """Write the upstream's head and the body bytes that came with it, framed for this
        client; when that was the whole answer, the flow completes (``done``)."""
        early = response.early
        flow.head_received(capture, early)
        status = capture.status
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
        first = encode_live_head(capture, extra)
        if framing == "none":
            early = b""
        complete = response.done and response.error is None
        flow.bytes_sent = len(early)
        if early and len(early) < SEPARATE_WRITE_BYTES:
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
        now = time.monotonic()
        flow.head_sent(now)
        if complete:
            flow.body_complete(now)
        return _Passing(keep, framing, complete)

    async def _stream_rest(
        self,
        flow: ExchangeFlow,
        conn: HttpConnection,
        capture: Capture,
        response: UpstreamResponse,
        passing: _Passing,
    ) -> bool:
        """Forward the rest of a body chunk by chunk as it arrives (after :meth:`_pass_head`)."""
        # A recording must not depend on how much the client read: an SDK hangs up right
        # after ``data: [DONE]``. While recording, a client leaving stops the writing, not
        # the reading (for at most DRAIN_AFTER_CLIENT_S).
        recording = flow.recording
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
            _forward_chunk(flow, conn, response, passing, chunk)

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
            flow.upstream_broke(str(exc))
            return False
        finally:
            response.abort()  # nothing when complete; else stop reading and drop the connection
        return self._end_body(flow, conn, passing, late)

    @staticmethod
    def _end_body(
        flow: ExchangeFlow, conn: HttpConnection, passing: _Passing, late: int = 0
    ) -> bool:
        """Close a forwarded body; whether the connection may be kept. A client that left
        did so early, or only after everything worth reading (nothing ``late``) was sent."""
        if conn.closed:
            flow.client_gone(unseen=late)
            return False
        if passing.framing == "chunked":
            conn.write(b"0\r\n\r\n")
        flow.body_complete()
        return passing.keep

    def _upstream_failed(
        self,
        flow: ExchangeFlow,
        incoming: IncomingRequest,
        conn: HttpConnection,
        exc: UpstreamError,
    ) -> bool:
        message = f"upstream {self.upstream.name} ({self.upstream.origin}) failed: {exc}"
        log.warning("%s", message)
        conn.write(json_error(502, "upstream", message))
        flow.upstream_failed(message)
        return incoming.keep_alive


def _played(flow: ExchangeFlow, plan: Plan, delivery: Delivery) -> None:
    """Tell ``flow`` how the writing of ``plan`` went."""
    flow.plan_played(
        plan,
        delivery.ending,
        delivered=delivery.delivered,
        waited_s=delivery.waited_s,
        wait_left_s=delivery.wait_left_s,
        head_at=delivery.first_byte_at,
        sent=delivery.bytes_sent,
        reason=delivery.reason,
    )
