"""What the sync and async in-process transports decide, written once: no sleeping, no streams.

A transport flavour (sync or async, httpx or httpx2) owns only its I/O: how it sleeps, how it
reads the upstream body, and the byte-stream class its HTTP library insists on. Which step of a
plan is due when, which error a client sees for a timeout or a reset, and what each step or
chunk writes into the ledger are decided here, so every flavour answers a plan identically.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from faultkit.doors.flow import Capture
from faultkit.doors.timeline import COALESCE_S, Step, duration_s, timeline
from faultkit.doors.transport import HttpxExchange
from faultkit.exchange import ResponseHead
from faultkit.plan import Plan


def delay_until(exchange: HttpxExchange, due: float) -> tuple[float, bool]:
    """How long to sleep until ``due`` (monotonic), and whether the client's read timeout
    fires first. A real read times out when nothing arrives within the timeout after the read
    started; the read starts now, when the client asks for the next bytes."""
    delay = due - time.monotonic()
    timeout = exchange.read_timeout
    if timeout is not None and delay > timeout:
        return timeout, True
    return max(0.0, delay), False


class PlanPlayer:
    """A plan being played to the client: its timeline, and what each step means.

    One timeline serves the head and then the body stream, so the body's steps stay on the
    clock the head started. ``delivered`` is the last plan action whose bytes the client got:
    when the client hangs up, it tells whether anything that mattered was still to come.
    """

    def __init__(self, exchange: HttpxExchange, plan: Plan) -> None:
        self.exchange = exchange
        self.plan = plan
        self.origin = time.monotonic()
        self.last_out = self.origin  # when the client last got bytes
        self.steps = timeline(plan.actions)
        self.delivered = -1

    def delay(self, step: Step) -> tuple[float, bool]:
        """How long to sleep before ``step``, and whether the client's read timeout fires first."""
        return delay_until(self.exchange, self.origin + step.at_s)

    def head(self, step: Step, timed_out: bool) -> ResponseHead:
        """The head to answer with, once the first step's wait is over.

        Raises the client's own error when the read timed out first, the plan resets before the
        head, or it sends body bytes before any head (a broken plan, seen as a bad status line).
        """
        exchange = self.exchange
        if timed_out:
            raise exchange.read_timeout_error()
        if step.kind == "head":
            assert step.head is not None
            exchange.flow.head_sent()
            self.delivered = step.action_index
            self.last_out = time.monotonic()
            return step.head
        if step.kind in ("data", "heartbeat"):
            raise exchange.bytes_before_head_error()
        raise exchange.reset_error(step.reason)

    def body(self, step: Step, timed_out: bool) -> bytes | None:
        """The bytes to hand the client once ``step``'s wait is over; None at the plan's end.

        Raises the client's read timeout, or the error a connection dropped mid-body gives.
        """
        exchange = self.exchange
        if timed_out:
            raise exchange.read_timeout_error()
        if step.kind in ("data", "heartbeat"):
            exchange.flow.sent(len(step.data))
            self.last_out = time.monotonic()
            if step.kind == "data":
                self.delivered = step.action_index
            return step.data
        if step.kind == "reset":
            raise exchange.reset_error(step.reason)
        return None

    def ended(self) -> None:
        self.exchange.flow.plan_ended()

    def closed(self) -> None:
        """The client closed the stream. A server writes what is due without waiting for the
        client to read it, so the steps already due when the client left count as sent, as a
        socket would have taken them (the proxy's ledger says exactly that): up to a close
        (``completed``: an SDK that stops at ``data: [DONE]``, or retries a 429 without
        reading its body, lost nothing) or a reset. What was not yet due is judged by
        :meth:`ExchangeFlow.client_gone_during_plan`."""
        flow = self.exchange.flow
        if flow.finished:
            return
        now = time.monotonic()
        for step in self.steps:
            if self.origin + step.at_s > now + COALESCE_S:
                break  # not due yet: the client left before it
            if step.kind in ("data", "heartbeat"):
                flow.sent(len(step.data))
                self.last_out = max(self.last_out, self.origin + step.at_s)
                if step.kind == "data":
                    self.delivered = step.action_index
            elif step.kind == "close":
                flow.plan_ended()
                return
            elif step.kind == "reset":
                flow.plan_ended("reset", step.reason)
                return
        flow.client_gone_during_plan(
            self.plan,
            self.delivered,
            waited_s=now - self.last_out,
            wait_left_s=self.origin + duration_s(self.plan.actions) - now,
        )


class Relay:
    """A live upstream body passed through to the client, captured for recording.

    Made when the upstream head goes out to the client, so the flow writes the ledger facts
    the engine would have written had it planned this response.
    """

    def __init__(self, exchange: HttpxExchange, capture: Capture) -> None:
        self.exchange = exchange
        self.flow = exchange.flow
        self.capture = capture
        self.flow.head_received(capture)
        self.flow.head_sent()

    def response_args(self) -> dict[str, Any]:
        return self.exchange.response_args(self.capture.client_head)

    def passed(self, chunk: bytes) -> bytes:
        """``chunk`` captured and counted as sent; returned for the client."""
        self.capture.add(chunk, self.exchange.elapsed_ms())
        self.flow.sent(len(chunk))
        return chunk

    def complete(self) -> None:
        self.flow.body_complete()

    @property
    def wants_rest(self) -> bool:
        """The client stopped reading (an SDK stops at [DONE]) but the recording must be whole."""
        return self.flow.wants_rest

    def rest(self, chunk: bytes) -> None:
        """A chunk read for the recording after the client stopped reading."""
        self.capture.add(chunk, self.exchange.elapsed_ms())

    def closed(self, unseen: int = 0, *, complete: bool = False) -> None:
        """The client closed the stream; ``complete``: the rest was read to its end (for the
        recording), ``unseen`` bytes of it the client never saw."""
        if complete:
            self.capture.complete = True
        self.flow.client_gone(unseen=unseen)


@functools.cache
def stream_type(name: str, logic: type, base: type) -> type:
    """``logic`` on the HTTP library's byte-stream ``base``: a library's response accepts only
    its own stream types, so each of httpx and httpx2 gets its own class, made once."""
    return type(name, (logic, base), {})
