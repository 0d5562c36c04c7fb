"""The proxy's side of a lazy plan: a live upstream answer a fault fires on, passed to the
client through the fault as it arrives (see :mod:`faultkit.live`).

The upstream connection's callbacks feed each body chunk to the live plan the moment it
arrives (so arrival times are real, even while the writer sleeps through an injected delay);
the writer task performs the timed actions that come out, each when it is due: the head, the
body chunked (or as the fault framed it), heartbeats during a wait, a clean end or a reset.
Nothing is read whole unless a whole-body fault asks for it, and a fault that ends the answer
(a cut, a reset) stops the reading there, unless the answer is being recorded.
"""

from __future__ import annotations

import asyncio
from collections import deque

from faultkit.doors.flow import Capture, ExchangeFlow
from faultkit.doors.http1 import HttpConnection, IncomingRequest
from faultkit.doors.liveplay import left_behind, steps_of
from faultkit.exchange import ResponseHead
from faultkit.live import LivePlan, Timed

from .execute import COALESCE_S, clock, encode_head, sleep_until
from .upstream import UpstreamError, UpstreamResponse

NO_BODY_STATUS = (204, 304)
DRAIN_AFTER_CLIENT_S = 5.0


class _Feed:
    """Timed actions from the upstream's callbacks to the writer task."""

    def __init__(self, live: LivePlan, response: UpstreamResponse, recording: bool) -> None:
        self.live = live
        self.response = response
        self.recording = recording
        self.items: deque[Timed] = deque()
        self.ended = False  # the upstream answer ended, broke, or was left: nothing more comes
        self.complete = False  # ... and it ended whole
        self.aborted = False  # the reading was stopped before the end
        self.current: Timed | None = None  # taken by the writer, its steps not all written
        self.last_out = clock()  # when the writer last wrote bytes to the client
        self._wake = asyncio.Event()

    def put(self, items: list[Timed]) -> None:
        if items:
            self.items.extend(items)
            self._wake.set()

    def chunk(self, data: bytes) -> None:
        """A body chunk arrived (called from the upstream connection's ``data_received``)."""
        live = self.live
        now = clock()
        out = live.feed(data, now)
        if live.done and not self.recording:
            out += live.abandon(now)  # cut by a fault: nothing more is read
            self.abort()
        self.put(out)

    def abort(self) -> None:
        self.aborted = True
        self.response.abort()

    async def read(self) -> None:
        """Until the upstream answer ends; then the live plan is finished."""
        response = self.response
        error: str | None = None
        try:
            while not response.done:
                await response.wait()
        except UpstreamError as exc:
            error = str(exc)
        except asyncio.CancelledError:
            self.leave()
            raise
        self.complete = error is None and not self.aborted
        self.put(self.live.finish(clock(), error))  # nothing if the plan was already left
        self.ended = True
        self._wake.set()

    def leave(self) -> None:
        """The writer stops (the client left): stop reading, unless recording."""
        if not self.recording:
            self.abort()
            self.put(self.live.abandon(clock()))

    async def next(self) -> Timed | None:
        while not self.items:
            if self.ended:
                return None
            self._wake.clear()
            await self._wake.wait()
        return self.items.popleft()


async def play_live(
    flow: ExchangeFlow,
    incoming: IncomingRequest,
    conn: HttpConnection,
    capture: Capture,
    response: UpstreamResponse,
) -> bool:
    """Answer ``incoming`` from a live upstream answer through its faults; whether the
    connection may be kept."""
    live = flow.live(capture)
    recording = flow.recording
    feed = _Feed(live, response, recording)
    feed.put(live.start(clock()))
    early = response.early
    if early:
        feed.chunk(early)
    response.set_sink(feed.chunk)
    if recording:
        # A recording must not depend on how much the client read (an SDK hangs up right
        # after ``data: [DONE]``): a client leaving stops the writing, not the reading.
        conn.cancel_on_disconnect = False
    reader = asyncio.ensure_future(feed.read())
    try:
        keep = await _write(flow, incoming, conn, feed)
    except asyncio.CancelledError:  # the client left while the writer waited
        feed.leave()
        _gone(flow, feed)
        raise
    finally:
        if recording and not reader.done():
            try:
                await asyncio.wait_for(asyncio.shield(reader), DRAIN_AFTER_CLIENT_S)
            except (TimeoutError, asyncio.CancelledError):
                feed.abort()
        reader.cancel()
    if feed.complete:
        flow.live_complete(capture, record=recording)
    return keep


async def _write(
    flow: ExchangeFlow, incoming: IncomingRequest, conn: HttpConnection, feed: _Feed
) -> bool:
    """Perform the timed actions as they come; the ending goes to the flow."""
    head_out = False
    framing = "chunked"
    index = 0
    sent = 0
    while True:
        timed = await feed.next()
        if timed is None:  # the plan ended without an ending: a clean close
            if head_out and framing == "chunked":
                conn.write(b"0\r\n\r\n")
            flow.plan_ended()
            return head_out and framing != "close" and incoming.keep_alive
        feed.current = timed
        for step in steps_of(timed, index, head_out):
            if step.at_s - clock() > COALESCE_S:
                await conn.drain()
                await sleep_until(step.at_s)
            if conn.closed:
                feed.leave()
                _gone(flow, feed)
                return False
            if step.kind == "head":
                assert step.head is not None
                framing, extra = _framing(step.head, incoming)
                conn.write(encode_head(step.head, extra))
                head_out = True
                feed.last_out = clock()
                flow.head_sent(feed.last_out)
            elif step.kind in ("data", "heartbeat"):
                if not head_out:
                    conn.write(step.data)  # bytes before any head: garbage, on purpose
                    continue
                if framing == "none" or (step.kind == "heartbeat" and framing == "raw"):
                    continue
                sent += len(step.data)
                flow.sent(len(step.data))
                data = step.data
                conn.write(b"%x\r\n%b\r\n" % (len(data), data) if framing == "chunked" else data)
                feed.last_out = clock()
            elif step.kind == "close":
                if head_out and framing == "chunked":
                    conn.write(b"0\r\n\r\n")
                await conn.drain()
                flow.plan_ended()
                return head_out and framing == "chunked" and incoming.keep_alive
            elif step.kind == "reset":
                await conn.drain()
                conn.reset()
                flow.plan_ended("reset", step.reason)
                return False
        feed.current = None
        index += 1


def _framing(head: ResponseHead, incoming: IncomingRequest) -> tuple[str, list[tuple[str, str]]]:
    """How a live body is framed: chunked (its length is not known when the head goes out),
    as the fault framed it when its head says so itself, or not at all."""
    status = head.status
    if incoming.method.upper() == "HEAD" or status < 200 or status in NO_BODY_STATUS:
        return "none", []
    if head.header("content-length") is not None or head.header("transfer-encoding") is not None:
        return "raw", [("connection", "close")]
    if not incoming.http11:
        return "close", [("connection", "close")]
    extra = [("transfer-encoding", "chunked")]
    if not incoming.keep_alive:
        extra.append(("connection", "close"))
    return "chunked", extra


def _gone(flow: ExchangeFlow, feed: _Feed) -> None:
    """The client left: it lost something unless the answer had ended and nothing that
    mattered was still to come (an SDK stops reading at ``data: [DONE]``); the flow's hang-up
    rule (:meth:`~faultkit.doors.flow.ExchangeFlow.client_left`) makes the ending."""
    later = [*feed.items, feed.current] if feed.current is not None else feed.items
    now = clock()
    content, wait_left = left_behind(later, now)
    flow.client_left(
        lost=content or not feed.ended, waited_s=now - feed.last_out, wait_left_s=wait_left
    )
