"""Execute a plan over a socket: the head, each body chunk or SSE event on its planned time.

Nothing is buffered beyond what is due at the same instant: bytes planned for one moment are
written together (a head and its JSON body in one segment), and the writer is flushed before
every wait, so an SSE client sees each event when the plan says, a heartbeat comment during a
stall, and a reset as a real TCP RST (``SO_LINGER`` 0).

Framing is the door's job (plans carry no framing headers). A body that is known and sent in
one piece gets ``content-length``; a stream, or a body the plan may cut with a reset, is sent
chunked, so a clean ``Close`` is the chunked terminator and a ``Reset`` an incomplete chunked
body, which is what the SDKs see from a real provider. A fault that sets ``content-length`` or
``transfer-encoding`` in the head itself gets exactly the bytes it planned, unframed: that is
how a short-body fault lies about its length.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Literal, Protocol

from faultkit.doors.flow import Capture
from faultkit.doors.http1 import head_bytes
from faultkit.doors.timeline import COALESCE_S, duration_s, timeline
from faultkit.exchange import ResponseHead
from faultkit.formats.errors import reason_phrase
from faultkit.ledger import Ending
from faultkit.plan import FRAMING_HEADERS, Close, Plan, Reset, SendBytes, SendEvent, SendHead, Wait

Framing = Literal["length", "chunked", "close", "none", "raw"]

# The shortest timer asked of the loop: epoll waits whole milliseconds, and uvloop's clock
# counts them, so a shorter one would only spin the loop.
MIN_TIMER_S = 0.001
# The proxy's clock: precise on every loop (uvloop's ``loop.time()`` is cached per iteration,
# in whole milliseconds).
clock = time.monotonic


async def sleep_until(due: float) -> None:
    """Sleep until ``clock()`` reaches ``due``, never returning early.

    A loop timer may fire up to a millisecond early (uvloop rounds to its millisecond clock)
    or late (epoll's timeout is in milliseconds), so the precise clock is checked on waking
    and the rest is slept again: an injected latency is never shorter than asked, and at most
    about a millisecond longer.
    """
    while True:
        delay = due - clock()
        if delay <= 0:
            return
        await asyncio.sleep(delay if delay > MIN_TIMER_S else MIN_TIMER_S)


class Sink(Protocol):
    """The connection a plan is written to (the server's per-connection protocol)."""

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def reset(self) -> None: ...

    @property
    def closed(self) -> bool: ...


@dataclass
class Delivery:
    """How the writing of a plan went, for the exchange flow and the connection loop.
    ``ending`` None: the client left after action ``delivered`` went out, ``wait_left_s``
    before a planned wait was over (the flow decides whether anything that mattered was
    lost)."""

    ending: Ending | None
    first_byte_at: float | None  # clock() time the head went out
    bytes_sent: int  # body bytes (after the head), as planned, without chunk framing
    keep_alive: bool
    reason: str = ""
    delivered: int = -1
    waited_s: float = 0.0  # since the client last got bytes, when it left
    wait_left_s: float = 0.0  # of the plan's planned waits, when it left


def encode_head(head: ResponseHead, extra: list[tuple[str, str]]) -> bytes:
    return head_bytes(head.status, head.reason, (*head.headers, *extra))


def choose_framing(plan: Plan, *, method: str, http11: bool) -> tuple[Framing, int]:
    """How the body of ``plan`` is framed, and its length for ``length`` framing."""
    head = plan.head
    index = plan.head_index
    if head is None or index is None:
        return "none", 0
    if method.upper() == "HEAD" or head.status < 200 or head.status in (204, 304):
        return "none", 0
    if head.header("content-length") is not None or head.header("transfer-encoding") is not None:
        return "raw", 0
    after = plan.actions[index + 1 :]
    streamed = any(
        isinstance(a, SendEvent | Reset) or (isinstance(a, Wait) and a.heartbeat_ms) for a in after
    )
    if not streamed:
        return "length", sum(len(a.data) for a in after if isinstance(a, SendBytes))
    return ("chunked" if http11 else "close"), 0


_FRAMING = frozenset(name.encode() for name in FRAMING_HEADERS)
_FRAMING_LENGTHS = frozenset(len(name) for name in _FRAMING)


def encode_live_head(capture: Capture, extra: bytes) -> bytes:
    """A live upstream head as the client gets it, straight from its raw bytes: the
    upstream's headers minus its framing, then ``extra`` (the door's framing lines, each
    ending in CRLF). Passing a head through needs no :class:`ResponseHead`. One join of the
    pieces, and a name is lowercased only when its length is a framing header's (per
    request: a fifth less CPU here than a line built per header)."""
    reason = capture.reason or reason_phrase(capture.status).encode()
    parts = [b"HTTP/1.1 %d %b\r\n" % (capture.status, reason)]
    for name, value in capture.raw_headers:
        if len(name) in _FRAMING_LENGTHS and name.lower() in _FRAMING:
            continue
        parts += (name, b": ", value, b"\r\n")
    parts += (extra, b"\r\n")
    return b"".join(parts)


@dataclass(frozen=True)
class _Fixed:
    """A plan that is one complete response after an optional plain wait, pre-encoded."""

    wait_s: float
    data: bytes
    sent: int
    keep_alive: bool


_FIXED: dict[tuple[int, bool, bool, bool], tuple[Plan, _Fixed | None]] = {}
_FIXED_MAX = 512


def _fixed(plan: Plan, method: str, http11: bool, keep_alive: bool) -> _Fixed | None:
    """The bytes of ``plan`` when it is a wait (optional), a head, a body (optional) and a
    clean close: the common replay with no fault, or a fault that only delays it. Memoized by
    plan identity (the engine reuses the plan of a recording), so replaying it costs a write."""
    is_head = method == "HEAD"
    key = (id(plan), is_head, http11, keep_alive)
    hit = _FIXED.get(key)
    if hit is not None and hit[0] is plan:
        return hit[1]
    fixed = _encode_fixed(plan, method, http11, keep_alive)
    if len(_FIXED) >= _FIXED_MAX:
        _FIXED.clear()
    _FIXED[key] = (plan, fixed)
    return fixed


def _encode_fixed(plan: Plan, method: str, http11: bool, keep_alive: bool) -> _Fixed | None:
    actions = plan.actions
    wait_s = 0.0
    index = 0
    if actions and isinstance(actions[0], Wait):
        if actions[0].heartbeat_ms:
            return None
        wait_s = max(0.0, actions[0].ms) / 1000
        index = 1
    rest = actions[index:]
    if not rest or not isinstance(rest[0], SendHead) or not isinstance(rest[-1], Close):
        return None
    middle = rest[1:-1]
    if len(middle) > 1 or (middle and not isinstance(middle[0], SendBytes)):
        return None
    framing, length = choose_framing(plan, method=method, http11=http11)
    if framing not in ("length", "none"):
        return None
    keep = keep_alive
    extra: list[tuple[str, str]] = []
    if framing == "length":
        extra.append(("content-length", str(length)))
    if not keep:
        extra.append(("connection", "close"))
    data = encode_head(rest[0].head, extra)
    sent = 0
    if framing == "length" and middle:
        data += middle[0].data
        sent = len(middle[0].data)
    return _Fixed(wait_s, data, sent, keep)


def execute_now(
    plan: Plan,
    sink: Sink,
    *,
    start: float,
    method: str = "GET",
    http11: bool = True,
    keep_alive: bool = True,
) -> Delivery | None:
    """Write ``plan`` at once when it is one fixed response already due (a replay without a
    fault, or with a delay that is over): its delivery; None when it has to wait or stream
    (then :func:`execute`). Saves the door a task for the most common replay."""
    fixed = _fixed(plan, method, http11, keep_alive)
    if fixed is None or (fixed.wait_s and start + fixed.wait_s - clock() > COALESCE_S):
        return None
    return _write_fixed(fixed, sink)


def _write_fixed(fixed: _Fixed, sink: Sink) -> Delivery:
    if sink.closed:
        return Delivery(None, None, 0, False)
    sink.write(fixed.data)
    return Delivery("completed", clock(), fixed.sent, fixed.keep_alive)


async def execute(
    plan: Plan,
    sink: Sink,
    *,
    start: float,
    method: str = "GET",
    http11: bool = True,
    keep_alive: bool = True,
    on_head: object = None,
) -> Delivery:
    """Write ``plan`` to ``sink``; ``start`` is the :data:`clock` time the plan's clock starts
    at (when the request arrived).

    ``on_head`` (a callable taking the clock time) is called when the head goes out, so the
    ledger's first-byte time is the real one.
    """
    fixed = _fixed(plan, method, http11, keep_alive)
    if fixed is not None:
        try:
            if fixed.wait_s and start + fixed.wait_s - clock() > COALESCE_S:
                await sleep_until(start + fixed.wait_s)
        except asyncio.CancelledError:
            now = clock()
            left = start + fixed.wait_s - now
            return Delivery(None, None, 0, False, waited_s=now - start, wait_left_s=left)
        delivery = _write_fixed(fixed, sink)
        if callable(on_head) and delivery.first_byte_at is not None:
            on_head(delivery.first_byte_at)
        return delivery
    framing, length = choose_framing(plan, method=method, http11=http11)
    keep = keep_alive and framing not in ("close", "raw")
    if plan.head is None:
        keep = False
    pending = bytearray()
    first_byte_at: float | None = None
    head_out = False
    sent = 0
    declared: int | None = None

    last_out = start  # clock() time bytes last went to the client

    async def flush() -> None:
        nonlocal last_out
        if pending:
            sink.write(bytes(pending))
            pending.clear()
            last_out = clock()
            await sink.drain()

    extra: list[tuple[str, str]] = []
    if framing == "length":
        extra.append(("content-length", str(length)))
    elif framing == "chunked":
        extra.append(("transfer-encoding", "chunked"))
    if not keep:
        extra.append(("connection", "close"))
    head_bytes = encode_head(plan.head, extra) if plan.head is not None else b""
    raw_length = plan.head.header("content-length") if plan.head is not None else None
    if framing == "raw" and raw_length is not None and raw_length.strip().isdigit():
        declared = int(raw_length)
    step_index = -1
    try:
        for step in timeline(plan.actions):
            step_index = step.action_index
            due = start + step.at_s
            slept = due - clock()
            if slept > COALESCE_S:
                await flush()
                await sleep_until(due)
            if sink.closed:
                # Gone while the door waited for this step: it gave up on that wait.
                left = slept if slept > COALESCE_S else 0.0
                return Delivery(
                    None,
                    first_byte_at,
                    sent,
                    False,
                    delivered=step_index - 1,
                    waited_s=clock() - last_out,
                    wait_left_s=left,
                )
            if step.kind == "head":
                # Encoded before the wait, so a delayed head costs one write when it is due.
                pending += head_bytes if step.head is plan.head else encode_head(step.head, extra)
                head_out = True
                first_byte_at = clock()
                if callable(on_head):
                    on_head(first_byte_at)
            elif step.kind in ("data", "heartbeat"):
                data = step.data
                if not head_out:
                    # A plan that sends bytes before any head: garbage on the wire, on purpose.
                    pending += data
                    keep = False
                    continue
                if framing == "none" or (step.kind == "heartbeat" and framing == "length"):
                    continue
                sent += len(data)
                if framing == "chunked":
                    pending += b"%x\r\n" % len(data) + data + b"\r\n"
                else:
                    pending += data
            elif step.kind == "close":
                if head_out and framing == "chunked":
                    pending += b"0\r\n\r\n"
                if framing == "raw" and declared is not None and declared != sent:
                    keep = False
                await flush()
                return Delivery("completed", first_byte_at, sent, keep and head_out)
            elif step.kind == "reset":
                await flush()
                sink.reset()
                return Delivery("reset", first_byte_at, sent, False, step.reason)
        await flush()
        return Delivery("completed", first_byte_at, sent, keep)
    except asyncio.CancelledError:
        # The client hung up (the connection cancels its handler). If nothing that mattered
        # was still to come (an SDK stops reading at ``data: [DONE]``), the exchange completed.
        now = clock()
        left = start + duration_s(plan.actions) - now
        return Delivery(
            None,
            first_byte_at,
            sent,
            False,
            delivered=step_index - 1,
            waited_s=now - last_out,
            wait_left_s=left,
        )
