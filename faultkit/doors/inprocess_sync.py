"""Sync half of the in-process door: ``handle_request`` and the response body streams.

Library-agnostic (``_mod`` is httpx or httpx2); see :mod:`faultkit.doors.inprocess`. Only the
I/O is here (sleeping, reading upstream, the stream classes); what each step means is in
:mod:`faultkit.doors.playback`, shared with the async half.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from faultkit.doors.flow import Forward
from faultkit.doors.liveplay import LivePlayer, SyncLiveSource
from faultkit.doors.playback import PlanPlayer, Relay, stream_type
from faultkit.doors.transport import HttpxExchange, TransportBase
from faultkit.doors.unpatched import unpatched_transport
from faultkit.plan import Plan

SLEEP_SLICE_S = 0.05


def _sleep(seconds: float) -> None:
    """Sleep in short slices, so Ctrl-C and thread shutdown are not held up by a long stall."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(left, SLEEP_SLICE_S))


class _SyncPlanStreamLogic:
    """Body of a planned response, produced step by step as the client iterates."""

    def __init__(self, playback: PlanPlayer) -> None:
        self._playback = playback
        self._body: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        self._body = self._produce()
        return self._body

    def _produce(self) -> Iterator[bytes]:
        playback = self._playback
        for step in playback.steps:
            pause, timed_out = playback.delay(step)
            _sleep(pause)
            data = playback.body(step, timed_out)
            if data is None:
                break
            yield data
        playback.ended()

    def close(self) -> None:
        if self._body is not None:
            self._body.close()  # type: ignore[attr-defined]
        self._playback.closed()


class _SyncUpstreamStreamLogic:
    """A live upstream body passed through chunk by chunk, captured for recording."""

    def __init__(self, relay: Relay, response: Any) -> None:
        self._relay = relay
        self._response = response
        self._chunks = iter(response.stream)
        self._body: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        self._body = self._produce()
        return self._body

    def _produce(self) -> Iterator[bytes]:
        relay = self._relay
        try:
            for chunk in self._chunks:
                yield relay.passed(chunk)
        except Exception as exc:
            relay.exchange.fail(exc)
            raise
        relay.complete()

    def close(self) -> None:
        if self._body is not None:
            self._body.close()  # type: ignore[attr-defined]
        relay = self._relay
        try:
            if relay.wants_rest:
                before = relay.capture.size
                try:
                    for chunk in self._chunks:
                        relay.rest(chunk)
                except Exception as exc:
                    relay.exchange.fail(exc)
                else:
                    relay.closed(relay.capture.size - before, complete=True)
            relay.closed()
        finally:
            self._response.close()


class SyncTransportBase(TransportBase):
    """``handle_request`` for a sync transport; ``_mod`` is the HTTP library module."""

    def handle_request(self, request: Any) -> Any:
        body = request.read()
        exchange = self._door.open(request, body)
        try:
            decision = exchange.flow.decide()
            if isinstance(decision, Forward):
                return self._forward(exchange, decision)
            return self._execute(exchange, decision.plan)
        except BaseException as exc:
            exchange.fail(exc)
            raise

    def _execute(self, exchange: HttpxExchange, plan: Plan) -> Any:
        return self._play(exchange, PlanPlayer(exchange, plan))

    def _play(self, exchange: HttpxExchange, playback: PlanPlayer) -> Any:
        step = next(playback.steps)  # a timeline always has a step: it ends with close or reset
        pause, timed_out = playback.delay(step)
        _sleep(pause)
        head = playback.head(step, timed_out)
        stream = stream_type("PlanStream", _SyncPlanStreamLogic, self._mod.SyncByteStream)
        return self._mod.Response(**exchange.response_args(head), stream=stream(playback))

    def _upstream(self) -> Any:
        return self._door.get_upstream(lambda: unpatched_transport(self._mod, "HTTPTransport"))

    def _forward(self, exchange: HttpxExchange, forward: Forward) -> Any:
        response = self._upstream().handle_request(exchange.upstream_request())
        capture = exchange.capture(response)
        if forward.whole:
            # A fault fires on it: a lazy plan, fed by a reader thread as the answer arrives.
            source = SyncLiveSource(exchange, response, capture, exchange.flow.live(capture))
            try:
                return self._play(exchange, LivePlayer(exchange, source))
            except BaseException:
                source.close()
                raise
        relay = Relay(exchange, capture)
        stream = stream_type("UpstreamStream", _SyncUpstreamStreamLogic, self._mod.SyncByteStream)
        return self._mod.Response(**relay.response_args(), stream=stream(relay, response))

    def close(self) -> None:
        if self._door.upstream is not None:
            self._door.upstream.close()
