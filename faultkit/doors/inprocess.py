"""The in-process door: an httpx transport that answers from the engine's plan.

Give it to any httpx client (``httpx.Client(transport=FaultkitTransport(engine))``), or to an
SDK through its ``http_client=`` argument, and every request is answered by replaying a
recording with the scenario's faults applied, timed like a real server: the head after any
planned delay, then each body chunk or SSE event lazily, as the client reads, never buffered.
A planned wait longer than the client's read timeout raises the client's own ``ReadTimeout``
after that timeout; a planned reset raises the ``RemoteProtocolError`` a dropped socket gives.

It is an ``httpx.BaseTransport`` subclass (not ``MockTransport``), so it composes with vcrpy,
which patches only httpx's own transports.

Modes:

- ``replay`` (default): answer from the engine's cassette store only; a request without a
  recording raises :class:`~faultkit.errors.UnmatchedRequest` and never reaches the network.
- ``record``: forward every request to ``upstream`` (default: the library's ``HTTPTransport``),
  stream the answer through to the client while timing its first byte and each SSE event, and
  hand it to ``store.record``. Faults still apply on top, with one trade-off: a fault edits a
  whole plan, so a request on which a fault fires is *buffered* (read to the end upstream, then
  replayed through the fault); a request with no fault passes through unbuffered.
- ``new_episodes``: replay when a recording matches, else record.
- ``passthrough``: forward and apply faults, save nothing.

The logic is written once and parameterised by the HTTP library module: these classes serve
``httpx``; :mod:`faultkit.doors.inprocess_httpx2` builds the same pair for ``httpx2``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any, ClassVar

import anyio
import httpx

from faultkit.doors.core import Capture, DoorCore, Exchange, Forward, Mode
from faultkit.doors.timeline import Step, content_after, timeline
from faultkit.engine import Engine
from faultkit.plan import Plan

SLEEP_SLICE_S = 0.05


def _sleep(seconds: float) -> None:
    """Sleep in short slices, so Ctrl-C and thread shutdown are not held up by a long stall."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(left, SLEEP_SLICE_S))


def _delay(exchange: Exchange, due: float) -> tuple[float, bool]:
    """How long to sleep until ``due`` (monotonic), and whether the client's read timeout
    fires first. A real read times out when nothing arrives within the timeout after the read
    started; the read starts now, when the client asks for the next bytes."""
    delay = due - time.monotonic()
    timeout = exchange.read_timeout
    if timeout is not None and delay > timeout:
        return timeout, True
    return max(0.0, delay), False


# -- sync ---------------------------------------------------------------------------------------


class _SyncPlanStreamLogic:
    """Body of a planned response, produced step by step as the client iterates."""

    def __init__(
        self, exchange: Exchange, plan: Plan, steps: Iterator[Step], origin: float, head: int
    ) -> None:
        self._exchange = exchange
        self._plan = plan
        self._steps = steps
        self._origin = origin
        self._delivered = head

    def __iter__(self) -> Iterator[bytes]:
        exchange = self._exchange
        for step in self._steps:
            pause, timed_out = _delay(exchange, self._origin + step.at_s)
            _sleep(pause)
            if timed_out:
                raise exchange.read_timeout_error()
            if step.kind in ("data", "heartbeat"):
                exchange.bytes_sent += len(step.data)
                if step.kind == "data":
                    self._delivered = step.action_index
                yield step.data
            elif step.kind == "reset":
                raise exchange.reset_error(before_head=False, reason=step.reason)
            else:
                break
        exchange.finish("completed")

    def close(self) -> None:
        exchange = self._exchange
        if not exchange.finished:
            pending = content_after(self._plan.actions, self._delivered)
            exchange.finish("client_closed" if pending else "completed")


class _SyncUpstreamStreamLogic:
    """A live upstream body passed through chunk by chunk, captured for recording."""

    def __init__(self, exchange: Exchange, response: Any, capture: Capture, record: bool) -> None:
        self._exchange = exchange
        self._response = response
        self._capture = capture
        self._record = record
        self._chunks = iter(response.stream)

    def __iter__(self) -> Iterator[bytes]:
        exchange = self._exchange
        try:
            for chunk in self._chunks:
                self._capture.add(chunk)
                exchange.bytes_sent += len(chunk)
                yield chunk
        except Exception as exc:
            exchange.fail(exc)
            raise
        self._complete("completed")

    def _complete(self, ending: Any) -> None:
        if self._record and not self._exchange.finished:
            self._exchange.core.record(self._exchange, self._capture.response())
        self._exchange.finish(ending)

    def close(self) -> None:
        try:
            if not self._exchange.finished and self._record:
                # The client stopped reading (an SDK stops at [DONE]); read the rest so the
                # recording is whole. What the client never saw makes it "client_closed".
                before = self._capture.size
                try:
                    for chunk in self._chunks:
                        self._capture.add(chunk)
                except Exception as exc:
                    self._exchange.fail(exc)
                else:
                    self._complete("client_closed" if self._capture.size > before else "completed")
            self._exchange.finish("client_closed")
        finally:
            self._response.close()


class _SyncDoorLogic:
    """``handle_request`` for a sync transport; ``_mod`` is the HTTP library module."""

    _mod: ClassVar[ModuleType]

    def __init__(
        self,
        engine: Engine,
        *,
        route: str | None = None,
        mode: Mode = "replay",
        upstream: Any = None,
    ) -> None:
        self._core = DoorCore(self._mod, engine, route, mode, upstream)

    @property
    def engine(self) -> Engine:
        return self._core.engine

    @property
    def mode(self) -> str:
        return self._core.mode

    def handle_request(self, request: Any) -> Any:
        body = request.read()
        exchange = self._core.open(request, body)
        try:
            decision = self._core.decide(exchange)
            if isinstance(decision, Forward):
                return self._forward(exchange, decision.record)
            return self._execute(exchange, decision.plan)
        except BaseException as exc:
            exchange.fail(exc)
            raise

    def _execute(self, exchange: Exchange, plan: Plan) -> Any:
        streams = _streams(self._mod)
        origin = time.monotonic()
        steps = timeline(plan.actions)
        for step in steps:
            pause, timed_out = _delay(exchange, origin + step.at_s)
            _sleep(pause)
            if timed_out:
                raise exchange.read_timeout_error()
            if step.kind == "head":
                assert step.head is not None
                exchange.head_sent()
                stream = streams.sync_plan(exchange, plan, steps, origin, step.action_index)
                return self._mod.Response(**exchange.response_args(step.head), stream=stream)
            if step.kind in ("data", "heartbeat"):
                raise exchange.bytes_before_head_error()
            raise exchange.reset_error(before_head=True, reason=step.reason)
        raise exchange.reset_error(before_head=True)  # pragma: no cover - timeline always ends

    def _upstream(self) -> Any:
        if self._core.upstream is None:
            self._core.upstream = self._mod.HTTPTransport()
        return self._core.upstream

    def _forward(self, exchange: Exchange, record: bool) -> Any:
        core = self._core
        response = self._upstream().handle_request(core.upstream_request(exchange))
        capture = Capture(exchange, response)
        if exchange.selection.firings:
            try:
                for chunk in response.stream:
                    capture.add(chunk)
            finally:
                response.close()
            if record:
                core.record(exchange, capture.response())
            return self._execute(exchange, core.plan(exchange, capture.response(timed=False)))
        core.passthrough_started(exchange, capture)
        stream = _streams(self._mod).sync_upstream(exchange, response, capture, record)
        return self._mod.Response(**exchange.response_args(capture.client_head), stream=stream)

    def close(self) -> None:
        if self._core.upstream is not None:
            self._core.upstream.close()


# -- async --------------------------------------------------------------------------------------


class _AsyncPlanStreamLogic:
    def __init__(
        self, exchange: Exchange, plan: Plan, steps: Iterator[Step], origin: float, head: int
    ) -> None:
        self._exchange = exchange
        self._plan = plan
        self._steps = steps
        self._origin = origin
        self._delivered = head

    async def __aiter__(self) -> AsyncIterator[bytes]:
        exchange = self._exchange
        for step in self._steps:
            pause, timed_out = _delay(exchange, self._origin + step.at_s)
            if pause > 0:
                await anyio.sleep(pause)
            if timed_out:
                raise exchange.read_timeout_error()
            if step.kind in ("data", "heartbeat"):
                exchange.bytes_sent += len(step.data)
                if step.kind == "data":
                    self._delivered = step.action_index
                yield step.data
            elif step.kind == "reset":
                raise exchange.reset_error(before_head=False, reason=step.reason)
            else:
                break
        exchange.finish("completed")

    async def aclose(self) -> None:
        exchange = self._exchange
        if not exchange.finished:
            pending = content_after(self._plan.actions, self._delivered)
            exchange.finish("client_closed" if pending else "completed")


class _AsyncUpstreamStreamLogic:
    def __init__(self, exchange: Exchange, response: Any, capture: Capture, record: bool) -> None:
        self._exchange = exchange
        self._response = response
        self._capture = capture
        self._record = record
        self._chunks = response.stream.__aiter__()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        exchange = self._exchange
        try:
            async for chunk in self._chunks:
                self._capture.add(chunk)
                exchange.bytes_sent += len(chunk)
                yield chunk
        except Exception as exc:
            exchange.fail(exc)
            raise
        self._complete("completed")

    def _complete(self, ending: Any) -> None:
        if self._record and not self._exchange.finished:
            self._exchange.core.record(self._exchange, self._capture.response())
        self._exchange.finish(ending)

    async def aclose(self) -> None:
        try:
            if not self._exchange.finished and self._record:
                before = self._capture.size
                try:
                    async for chunk in self._chunks:
                        self._capture.add(chunk)
                except Exception as exc:
                    self._exchange.fail(exc)
                else:
                    self._complete("client_closed" if self._capture.size > before else "completed")
            self._exchange.finish("client_closed")
        finally:
            await self._response.aclose()


class _AsyncDoorLogic:
    """``handle_async_request`` for an async transport; ``_mod`` is the HTTP library module."""

    _mod: ClassVar[ModuleType]

    def __init__(
        self,
        engine: Engine,
        *,
        route: str | None = None,
        mode: Mode = "replay",
        upstream: Any = None,
    ) -> None:
        self._core = DoorCore(self._mod, engine, route, mode, upstream)

    @property
    def engine(self) -> Engine:
        return self._core.engine

    @property
    def mode(self) -> str:
        return self._core.mode

    async def handle_async_request(self, request: Any) -> Any:
        body = await request.aread()
        exchange = self._core.open(request, body)
        try:
            decision = self._core.decide(exchange)
            if isinstance(decision, Forward):
                return await self._forward(exchange, decision.record)
            return await self._execute(exchange, decision.plan)
        except BaseException as exc:
            exchange.fail(exc)
            raise

    async def _execute(self, exchange: Exchange, plan: Plan) -> Any:
        streams = _streams(self._mod)
        origin = time.monotonic()
        steps = timeline(plan.actions)
        for step in steps:
            pause, timed_out = _delay(exchange, origin + step.at_s)
            if pause > 0:
                await anyio.sleep(pause)
            if timed_out:
                raise exchange.read_timeout_error()
            if step.kind == "head":
                assert step.head is not None
                exchange.head_sent()
                stream = streams.async_plan(exchange, plan, steps, origin, step.action_index)
                return self._mod.Response(**exchange.response_args(step.head), stream=stream)
            if step.kind in ("data", "heartbeat"):
                raise exchange.bytes_before_head_error()
            raise exchange.reset_error(before_head=True, reason=step.reason)
        raise exchange.reset_error(before_head=True)  # pragma: no cover - timeline always ends

    def _upstream(self) -> Any:
        if self._core.upstream is None:
            self._core.upstream = self._mod.AsyncHTTPTransport()
        return self._core.upstream

    async def _forward(self, exchange: Exchange, record: bool) -> Any:
        core = self._core
        response = await self._upstream().handle_async_request(core.upstream_request(exchange))
        capture = Capture(exchange, response)
        if exchange.selection.firings:
            try:
                async for chunk in response.stream:
                    capture.add(chunk)
            finally:
                await response.aclose()
            if record:
                core.record(exchange, capture.response())
            plan = core.plan(exchange, capture.response(timed=False))
            return await self._execute(exchange, plan)
        core.passthrough_started(exchange, capture)
        stream = _streams(self._mod).async_upstream(exchange, response, capture, record)
        return self._mod.Response(**exchange.response_args(capture.client_head), stream=stream)

    async def aclose(self) -> None:
        if self._core.upstream is not None:
            await self._core.upstream.aclose()


# -- per-library classes ------------------------------------------------------------------------


class _Streams:
    """The stream classes for one HTTP library: its response must hold *its* byte streams."""

    def __init__(self, mod: ModuleType) -> None:
        self.sync_plan = type("PlanStream", (_SyncPlanStreamLogic, mod.SyncByteStream), {})
        self.sync_upstream = type(
            "UpstreamStream", (_SyncUpstreamStreamLogic, mod.SyncByteStream), {}
        )
        self.async_plan = type("AsyncPlanStream", (_AsyncPlanStreamLogic, mod.AsyncByteStream), {})
        self.async_upstream = type(
            "AsyncUpstreamStream", (_AsyncUpstreamStreamLogic, mod.AsyncByteStream), {}
        )


@functools.cache
def _streams(mod: ModuleType) -> _Streams:
    return _Streams(mod)


class FaultkitTransport(_SyncDoorLogic, httpx.BaseTransport):
    """Sync httpx transport that answers from a faultkit engine.

    ``FaultkitTransport(engine, route=None, mode="replay", upstream=None)``: ``route`` names the
    upstream for rule matching (default: from the host, ``api.openai.com`` -> ``openai``,
    ``api.anthropic.com`` -> ``anthropic``, else the host name); ``mode`` is one of replay,
    record, new_episodes, passthrough; ``upstream`` is the transport that reaches the real
    service when forwarding (default ``httpx.HTTPTransport()``).
    """

    _mod = httpx


class AsyncFaultkitTransport(_AsyncDoorLogic, httpx.AsyncBaseTransport):
    """Async httpx transport that answers from a faultkit engine; see FaultkitTransport."""

    _mod = httpx
