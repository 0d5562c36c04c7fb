"""Async half of the in-process door: ``handle_async_request`` and the body streams.

Library-agnostic (``_mod`` is httpx or httpx2); sleeps with anyio, so it runs under asyncio and
trio alike. See :mod:`faultkit.doors.inprocess`. Only the I/O is here; what each step means is
in :mod:`faultkit.doors.playback`, shared with the sync half, whose loops this one mirrors with
``await`` (an async generator cannot be shared with a sync one). A fault firing on a live
answer plays a lazy plan (:mod:`faultkit.doors.liveplay`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio

from faultkit.doors.flow import Forward
from faultkit.doors.liveplay import AsyncLivePlayer, AsyncLiveSource
from faultkit.doors.playback import PlanPlayer, Relay, stream_type
from faultkit.doors.transport import HttpxExchange, TransportBase
from faultkit.doors.unpatched import unpatched_transport
from faultkit.plan import Plan


async def _aclose(body: AsyncIterator[bytes] | None) -> None:
    """Finalise a body generator the client stopped reading, now rather than at GC time."""
    if body is None:
        return
    # RuntimeError: still running in another task; it ends on its own.
    with contextlib.suppress(RuntimeError):
        await body.aclose()  # type: ignore[attr-defined]


class _AsyncPlanStreamLogic:
    def __init__(self, playback: PlanPlayer) -> None:
        self._playback = playback
        self._body: AsyncIterator[bytes] | None = None

    def __aiter__(self) -> AsyncIterator[bytes]:
        self._body = self._produce()
        return self._body

    async def _produce(self) -> AsyncIterator[bytes]:
        playback = self._playback
        for step in playback.steps:
            pause, timed_out = playback.delay(step)
            if pause > 0:
                await anyio.sleep(pause)
            data = playback.body(step, timed_out)
            if data is None:
                break
            yield data
        playback.ended()

    async def aclose(self) -> None:
        await _aclose(self._body)
        self._playback.closed()


class _AsyncLiveStreamLogic:
    """Body of a live answer through a lazy plan: the player's steps as they come."""

    def __init__(self, player: AsyncLivePlayer) -> None:
        self._player = player
        self._body: AsyncIterator[bytes] | None = None

    def __aiter__(self) -> AsyncIterator[bytes]:
        self._body = self._produce()
        return self._body

    async def _produce(self) -> AsyncIterator[bytes]:
        player = self._player
        async for step in player.asteps:
            pause, timed_out = player.delay(step)
            if pause > 0:
                await anyio.sleep(pause)
            data = player.body(step, timed_out)
            if data is None:
                break
            yield data
        player.ended()

    async def aclose(self) -> None:
        await _aclose(self._body)
        await self._player.aclosed()


class _AsyncUpstreamStreamLogic:
    def __init__(self, relay: Relay, response: Any) -> None:
        self._relay = relay
        self._response = response
        self._chunks = response.stream.__aiter__()
        self._body: AsyncIterator[bytes] | None = None

    def __aiter__(self) -> AsyncIterator[bytes]:
        self._body = self._produce()
        return self._body

    async def _produce(self) -> AsyncIterator[bytes]:
        relay = self._relay
        try:
            async for chunk in self._chunks:
                yield relay.passed(chunk)
        except Exception as exc:
            relay.exchange.fail(exc)
            raise
        relay.complete()

    async def aclose(self) -> None:
        await _aclose(self._body)
        relay = self._relay
        try:
            if relay.wants_rest:
                before = relay.capture.size
                try:
                    async for chunk in self._chunks:
                        relay.rest(chunk)
                except Exception as exc:
                    relay.exchange.fail(exc)
                else:
                    relay.closed(relay.capture.size - before, complete=True)
            relay.closed()
        finally:
            await self._response.aclose()


class AsyncTransportBase(TransportBase):
    """``handle_async_request`` for an async transport; ``_mod`` is the HTTP library module."""

    async def handle_async_request(self, request: Any) -> Any:
        body = await request.aread()
        exchange = self._door.open(request, body)
        try:
            decision = exchange.flow.decide()
            if isinstance(decision, Forward):
                return await self._forward(exchange, decision)
            return await self._execute(exchange, decision.plan)
        except BaseException as exc:
            exchange.fail(exc)
            raise

    async def _execute(self, exchange: HttpxExchange, plan: Plan) -> Any:
        playback = PlanPlayer(exchange, plan)
        step = next(playback.steps)  # a timeline always has a step: it ends with close or reset
        pause, timed_out = playback.delay(step)
        if pause > 0:
            await anyio.sleep(pause)
        head = playback.head(step, timed_out)
        stream = stream_type("AsyncPlanStream", _AsyncPlanStreamLogic, self._mod.AsyncByteStream)
        return self._mod.Response(**exchange.response_args(head), stream=stream(playback))

    def _upstream(self) -> Any:
        return self._door.get_upstream(lambda: unpatched_transport(self._mod, "AsyncHTTPTransport"))

    async def _forward(self, exchange: HttpxExchange, forward: Forward) -> Any:
        response = await self._upstream().handle_async_request(exchange.upstream_request())
        capture = exchange.capture(response)
        if forward.whole:
            # A fault fires on it: a lazy plan, fed by a reader task as the answer arrives.
            source = AsyncLiveSource(exchange, response, capture, exchange.flow.live(capture))
            player = AsyncLivePlayer(exchange, source)
            try:
                step = await player.asteps.__anext__()
                pause, timed_out = player.delay(step)
                if pause > 0:
                    await anyio.sleep(pause)
                head = player.head(step, timed_out)
            except BaseException:
                await source.close()
                raise
            stream = stream_type(
                "AsyncLiveStream", _AsyncLiveStreamLogic, self._mod.AsyncByteStream
            )
            return self._mod.Response(**exchange.response_args(head), stream=stream(player))
        relay = Relay(exchange, capture)
        stream = stream_type(
            "AsyncUpstreamStream", _AsyncUpstreamStreamLogic, self._mod.AsyncByteStream
        )
        return self._mod.Response(**relay.response_args(), stream=stream(relay, response))

    async def aclose(self) -> None:
        if self._door.upstream is not None:
            await self._door.upstream.aclose()
