"""Sync half of the in-process door: ``handle_request`` and the response body streams.

Library-agnostic (``_mod`` is httpx or httpx2); see :mod:`faultkit.doors.inprocess`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any, ClassVar

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


def delay_until(exchange: Exchange, due: float) -> tuple[float, bool]:
    """How long to sleep until ``due`` (monotonic), and whether the client's read timeout
    fires first. A real read times out when nothing arrives within the timeout after the read
    started; the read starts now, when the client asks for the next bytes."""
    delay = due - time.monotonic()
    timeout = exchange.read_timeout
    if timeout is not None and delay > timeout:
        return timeout, True
    return max(0.0, delay), False


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
        self._body: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        self._body = self._produce()
        return self._body

    def _produce(self) -> Iterator[bytes]:
        exchange = self._exchange
        for step in self._steps:
            pause, timed_out = delay_until(exchange, self._origin + step.at_s)
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
        if self._body is not None:
            self._body.close()  # type: ignore[attr-defined]
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
        self._body: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        self._body = self._produce()
        return self._body

    def _produce(self) -> Iterator[bytes]:
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
        if self._body is not None:
            self._body.close()  # type: ignore[attr-defined]
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


class SyncDoorLogic:
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
            pause, timed_out = delay_until(exchange, origin + step.at_s)
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
        return self._core.get_upstream(self._mod.HTTPTransport)

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


class _Streams:
    """Stream classes for one HTTP library: its response must hold *its* byte stream type."""

    def __init__(self, mod: ModuleType) -> None:
        self.sync_plan = type("PlanStream", (_SyncPlanStreamLogic, mod.SyncByteStream), {})
        self.sync_upstream = type(
            "UpstreamStream", (_SyncUpstreamStreamLogic, mod.SyncByteStream), {}
        )


@functools.cache
def _streams(mod: ModuleType) -> _Streams:
    return _Streams(mod)
