"""Async half of the in-process door: ``handle_async_request`` and the body streams.

Library-agnostic (``_mod`` is httpx or httpx2); sleeps with anyio, so it runs under asyncio and
trio alike. See :mod:`faultkit.doors.inprocess`.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any, ClassVar

import anyio

from faultkit.doors.core import Capture, DoorCore, Exchange, Forward, Mode
from faultkit.doors.inprocess_sync import delay_until
from faultkit.doors.timeline import Step, content_after, timeline
from faultkit.engine import Engine
from faultkit.plan import Plan


async def _aclose(body: AsyncIterator[bytes] | None) -> None:
    """Finalise a body generator the client stopped reading, now rather than at GC time."""
    if body is None:
        return
    # RuntimeError: still running in another task; it ends on its own.
    with contextlib.suppress(RuntimeError):
        await body.aclose()  # type: ignore[attr-defined]


class _AsyncPlanStreamLogic:
    def __init__(
        self, exchange: Exchange, plan: Plan, steps: Iterator[Step], origin: float, head: int
    ) -> None:
        self._exchange = exchange
        self._plan = plan
        self._steps = steps
        self._origin = origin
        self._delivered = head
        self._body: AsyncIterator[bytes] | None = None

    def __aiter__(self) -> AsyncIterator[bytes]:
        self._body = self._produce()
        return self._body

    async def _produce(self) -> AsyncIterator[bytes]:
        exchange = self._exchange
        for step in self._steps:
            pause, timed_out = delay_until(exchange, self._origin + step.at_s)
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
        await _aclose(self._body)
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
        self._body: AsyncIterator[bytes] | None = None

    def __aiter__(self) -> AsyncIterator[bytes]:
        self._body = self._produce()
        return self._body

    async def _produce(self) -> AsyncIterator[bytes]:
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
        await _aclose(self._body)
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


class AsyncDoorLogic:
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
            pause, timed_out = delay_until(exchange, origin + step.at_s)
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
        return self._core.get_upstream(self._mod.AsyncHTTPTransport)

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


class _Streams:
    """Stream classes for one HTTP library: its response must hold *its* byte stream type."""

    def __init__(self, mod: ModuleType) -> None:
        self.async_plan = type("AsyncPlanStream", (_AsyncPlanStreamLogic, mod.AsyncByteStream), {})
        self.async_upstream = type(
            "AsyncUpstreamStream", (_AsyncUpstreamStreamLogic, mod.AsyncByteStream), {}
        )


@functools.cache
def _streams(mod: ModuleType) -> _Streams:
    return _Streams(mod)
