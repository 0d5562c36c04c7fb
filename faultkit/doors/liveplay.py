"""Playing a lazy plan (:class:`faultkit.live.LivePlan`) to an in-process client.

When a fault fires on a live upstream answer, the answer is not read whole first: a reader
thread takes the upstream's chunks as they arrive, stamps each with its arrival time and feeds
it to the live plan; the client's stream plays what comes out, each action at the time it is
due (:class:`LivePlayer`, the same head, body, timeout and reset rules as a recorded plan's
:class:`~faultkit.doors.playback.PlanPlayer`). A thread, not the client's own reads, does the
reading because arrival times must be real: while the client sleeps through an injected delay,
the upstream keeps sending, and each event keeps the gap it had upstream. An async client
gets the same with a reader task (:class:`AsyncLiveSource`, asyncio or trio).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import queue
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any

import anyio
import sniffio

from faultkit.doors.flow import Capture
from faultkit.doors.playback import PlanPlayer
from faultkit.doors.timeline import HEARTBEAT, Step
from faultkit.doors.transport import HttpxExchange
from faultkit.live import LivePlan, Timed
from faultkit.plan import Close, Plan, Reset, SendBytes, SendEvent, SendHead, Wait

_END = None  # the reader is done: nothing more will come


def steps_of(timed: Timed, index: int, head_out: bool) -> list[Step]:
    """The steps one timed action makes: a wait makes its heartbeats (after the head) or
    nothing (what follows it is due later already); ``at_s`` is on the monotonic clock."""
    action, at = timed.action, timed.at_s
    if isinstance(action, Wait):
        beat = (action.heartbeat_ms or 0) / 1000
        duration = max(0.0, action.ms) / 1000
        out = []
        if head_out and beat > 0:
            t = beat
            while t < duration - 1e-9:
                out.append(Step(at + t, "heartbeat", index, data=HEARTBEAT))
                t += beat
        return out
    if isinstance(action, SendHead):
        return [Step(at, "head", index, head=action.head)]
    if isinstance(action, SendBytes):
        return [Step(at, "data", index, data=action.data)] if action.data else []
    if isinstance(action, SendEvent):
        return [Step(at, "data", index, data=action.event.encode())]
    if isinstance(action, Close):
        return [Step(at, "close", index)]
    if isinstance(action, Reset):
        return [Step(at, "reset", index, reason=action.reason)]
    return []


def left_behind(later: Iterable[Timed], now: float) -> tuple[bool, float]:
    """What a client leaving a live plan at ``now`` left of it, of the actions ``later``
    not yet delivered: whether content (bytes, an event, a reset) and how long their planned
    waits still had to run (s; the flow's hang-up rule tells a client that gave up on a
    stall by it). Both doors' live players judge their hang-ups with this."""
    content = False
    wait_end = now
    for timed in later:
        action = timed.action
        if isinstance(action, Wait):
            wait_end = max(wait_end, timed.at_s + max(0.0, action.ms) / 1000)
        elif isinstance(action, SendBytes | SendEvent | Reset):
            content = True
    return content, wait_end - now


class SyncLiveSource:
    """The reader thread: upstream chunks into the live plan as they arrive, the timed
    actions out into a queue the client's stream takes them from."""

    def __init__(
        self, exchange: HttpxExchange, response: Any, capture: Capture, live: LivePlan
    ) -> None:
        self.exchange = exchange
        self.response = response
        self.capture = capture
        self.live = live
        self.queue: queue.Queue[list[Timed] | None] = queue.Queue()
        self.record = exchange.flow.recording  # decided before the client gets any ending
        self.stop = threading.Event()
        self.ended = False  # the upstream answer ended (or broke): nothing more will come
        self._thread = threading.Thread(target=self._read, name="faultkit-live", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        live, flow = self.live, self.exchange.flow
        try:
            self.queue.put(live.start(time.monotonic()))
            error: str | None = None
            try:
                for chunk in self.response.stream:
                    now = time.monotonic()
                    self.capture.add(chunk, self.exchange.elapsed_ms())
                    out = live.feed(chunk, now)
                    if self.stop.is_set() or (live.done and not self.record):
                        # Cut by a fault (or left by the client): nothing more is read.
                        out += live.abandon(now)
                        self.queue.put(out)
                        self.ended = live.done  # the answer ended at the cut
                        return
                    self.queue.put(out)
            except Exception as exc:  # the upstream broke off mid-body
                if self.stop.is_set():
                    self.queue.put(live.abandon(time.monotonic()))
                    return
                error = f"{type(exc).__name__}: {exc}"
            out = live.finish(time.monotonic(), error)
            if error is None:
                flow.live_complete(self.capture, record=self.record)
            self.queue.put(out)
            self.ended = True
        finally:
            self.queue.put(_END)
            self.response.close()

    def close(self) -> None:
        """The client is gone: stop reading; when recording, read the rest first (a recording
        must not depend on how much the client read), as a pass-through recording does."""
        if self.record:
            self._thread.join()
        else:
            self.stop.set()
            self.response.close()


class _ReadWindow(PlanPlayer):
    """The client's read timeout on a live plan: a real read times out when nothing arrives
    within the timeout after the read began (when the client asked for more), however long
    the door then waited for the upstream."""

    read_started = 0.0

    def __init__(self, exchange: HttpxExchange) -> None:
        super().__init__(exchange, Plan(actions=()))
        self.origin = 0.0  # the steps carry monotonic times
        self.read_started = time.monotonic()
        self.seen: list[Timed] = []  # every action the reader handed over, in order
        self.head_out = False

    def left(self) -> float | None:
        """How long the current read may still wait for the upstream; None: no timeout."""
        timeout = self.exchange.read_timeout
        if timeout is None:
            return None
        return max(0.0, self.read_started + timeout - time.monotonic())

    def delay(self, step: Step) -> tuple[float, bool]:
        timeout = self.exchange.read_timeout
        now = time.monotonic()
        if timeout is not None and step.at_s - self.read_started > timeout:
            return max(0.0, self.read_started + timeout - now), True
        return max(0.0, step.at_s - now), False

    def batch_steps(self, batch: list[Timed]) -> Iterator[Step]:
        """The steps of one batch from the reader, each action kept in :attr:`seen` (a
        step's ``action_index`` is its place there)."""
        first = len(self.seen)
        self.seen += batch  # all of it at once: what the client has not read yet is pending
        for index, timed in enumerate(batch, first):
            yield from steps_of(timed, index, self.head_out)

    def end_for_client_gone(self, ended: bool, queued: list[list[Timed] | None]) -> None:
        """The client closed the stream: lost something if content was still to come (not
        delivered yet, still queued, or the upstream had not ended), else not (an SDK stops
        reading at ``data: [DONE]`` with only a clean close left); the flow's hang-up rule
        (:meth:`~faultkit.doors.flow.ExchangeFlow.client_left`) makes the ending, also from
        how long it had waited and how much of a planned wait was left."""
        flow = self.exchange.flow
        if flow.finished:
            return
        later = self.seen[self.delivered + 1 :] + [t for b in queued if b for t in b]
        now = time.monotonic()
        content, wait_left = left_behind(later, now)
        flow.client_left(
            lost=content or not ended, waited_s=now - self.last_out, wait_left_s=wait_left
        )


class LivePlayer(_ReadWindow):
    """A live plan being played to the client: :class:`PlanPlayer`'s rules, on steps that
    come from the reader thread as the upstream answer arrives."""

    def __init__(self, exchange: HttpxExchange, source: SyncLiveSource) -> None:
        super().__init__(exchange)
        self.source = source
        self.steps = self._steps()

    def _steps(self) -> Iterator[Step]:
        while True:
            try:
                batch = self.source.queue.get(timeout=self.left())
            except queue.Empty:
                raise self.exchange.read_timeout_error() from None
            if batch is _END:
                return
            for step in self.batch_steps(batch):
                self.head_out = self.head_out or step.kind == "head"
                yield step
                self.read_started = time.monotonic()  # the client asks for more

    def closed(self) -> None:
        """The client closed the stream: the reader stops (after the rest, when recording)."""
        source = self.source
        source.close()
        queued: list[list[Timed] | None] = []
        while True:
            try:
                queued.append(source.queue.get_nowait())
            except queue.Empty:
                break
        self.end_for_client_gone(source.ended, queued)


def _spawn(fn: Callable[[], Awaitable[None]]) -> object:
    """Run ``fn`` as a task of its own that outlives the caller (the reader must go on while
    the client reads the response): a plain task under asyncio, a system task under trio.
    The caller holds what it returns (an asyncio task is otherwise only weakly held)."""
    if sniffio.current_async_library() == "trio":
        import trio

        return trio.lowlevel.spawn_system_task(fn)
    return asyncio.get_running_loop().create_task(fn())


def _cancel_scope() -> Any:
    """A cancel scope another task can cancel; trio's own under trio, because anyio 4.16
    passes ``trio.CancelScope.cancel`` a ``reason`` that older trio (0.22 here) rejects."""
    if sniffio.current_async_library() == "trio":
        import trio

        return trio.CancelScope()
    return anyio.CancelScope()


class AsyncLiveSource:
    """:class:`SyncLiveSource` for an async client: a reader task instead of a thread."""

    def __init__(
        self, exchange: HttpxExchange, response: Any, capture: Capture, live: LivePlan
    ) -> None:
        self.exchange = exchange
        self.response = response
        self.capture = capture
        self.live = live
        self._send, self.receive = anyio.create_memory_object_stream[list[Timed] | None](math.inf)
        self.ended = False
        self.record = exchange.flow.recording  # decided before the client gets any ending
        self._scope = _cancel_scope()
        self._done = anyio.Event()
        self._task = _spawn(self._read)

    def _put(self, batch: list[Timed] | None) -> None:
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            self._send.send_nowait(batch)

    async def _read(self) -> None:
        live, flow = self.live, self.exchange.flow
        try:
            with self._scope:
                self._put(live.start(time.monotonic()))
                error: str | None = None
                try:
                    async for chunk in self.response.stream:
                        now = time.monotonic()
                        self.capture.add(chunk, self.exchange.elapsed_ms())
                        out = live.feed(chunk, now)
                        if live.done and not self.record:
                            self._put(out + live.abandon(now))  # cut by a fault
                            self.ended = True
                            return
                        self._put(out)
                except Exception as exc:  # the upstream broke off mid-body
                    error = f"{type(exc).__name__}: {exc}"
                out = live.finish(time.monotonic(), error)
                if error is None:
                    flow.live_complete(self.capture, record=self.record)
                self._put(out)
                self.ended = True
        except BaseException:
            pass  # a trio system task must not raise; the ending is put below either way
        finally:
            self._put(live.abandon(time.monotonic()))  # nothing when finished already
            self._put(_END)
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await self.response.aclose()
            self._done.set()

    async def close(self) -> None:
        """The client is gone: stop reading; when recording, read the rest first."""
        if self.record:
            await self._done.wait()
        else:
            self._scope.cancel()


class AsyncLivePlayer(_ReadWindow):
    """:class:`LivePlayer` for an async client: ``asteps`` instead of ``steps``."""

    def __init__(self, exchange: HttpxExchange, source: AsyncLiveSource) -> None:
        super().__init__(exchange)
        self.source = source
        self.asteps = self._steps()

    async def _steps(self) -> AsyncIterator[Step]:
        while True:
            try:
                with anyio.fail_after(self.left()):
                    batch = await self.source.receive.receive()
            except TimeoutError:
                raise self.exchange.read_timeout_error() from None
            except anyio.EndOfStream:
                return
            if batch is _END:
                return
            for step in self.batch_steps(batch):
                self.head_out = self.head_out or step.kind == "head"
                yield step
                self.read_started = time.monotonic()  # the client asks for more

    async def aclosed(self) -> None:
        """:meth:`LivePlayer.closed`, awaiting the reader when it records the rest."""
        source = self.source
        await source.close()
        queued: list[list[Timed] | None] = []
        while True:
            try:
                queued.append(source.receive.receive_nowait())
            except (anyio.WouldBlock, anyio.EndOfStream):
                break
        self.end_for_client_gone(source.ended, queued)
