"""A plan laid out on the server's clock: what a door sends, and when. Pure, no I/O.

A door executes a plan the way a real server would: the server does not wait for the client to
read, it emits bytes on its own schedule, and a client read times out only when nothing arrives
within the read timeout *after the read started*. So each step carries the time ``at_s`` (seconds
since the exchange began) at which the server emits it; the door sleeps until then, or raises the
client's read timeout when that moment is further away than the timeout allows.

Heartbeats (``Wait.heartbeat_ms``) become data steps of their own (``: keep-alive``) so they
reset the client's read timeout just as a gateway's keep-alive comments do.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from faultkit.exchange import Response, ResponseHead
from faultkit.formats.sse import parse_events
from faultkit.plan import Action, Close, Reset, SendBytes, SendEvent, SendHead, Wait

HEARTBEAT = b": keep-alive\n\n"
# Steps due within this many seconds of each other are due together: a door writes them in one
# go, and counts them as sent together when the client leaves.
COALESCE_S = 0.0005

StepKind = Literal["head", "data", "heartbeat", "close", "reset"]


@dataclass(frozen=True)
class Step:
    """One thing the server emits at ``at_s`` seconds after the request arrived.

    ``action_index`` points back into the plan so a door can tell, when a client hangs up,
    whether anything that mattered was still to come.
    """

    at_s: float
    kind: StepKind
    action_index: int
    data: bytes = b""
    head: ResponseHead | None = None
    reason: str = ""


def timeline(actions: Sequence[Action]) -> Iterator[Step]:
    """The steps of ``actions`` in order, each stamped with its emission time.

    Lazy, so a long stall with frequent heartbeats never materialises every step. A plan that
    ends without ``Close`` or ``Reset`` closes cleanly; anything after the first ``Close`` or
    ``Reset`` is never sent. Heartbeats only exist once the head is out: before it there is no
    body to put a comment in.
    """
    now = 0.0
    head_sent = False
    for index, action in enumerate(actions):
        if isinstance(action, Wait):
            duration = max(0.0, action.ms) / 1000
            beat = (action.heartbeat_ms or 0) / 1000
            if head_sent and beat > 0:
                t = beat
                while t < duration - 1e-9:
                    yield Step(now + t, "heartbeat", index, data=HEARTBEAT)
                    t += beat
            now += duration
        elif isinstance(action, SendHead):
            head_sent = True
            yield Step(now, "head", index, head=action.head)
        elif isinstance(action, SendBytes):
            if action.data:
                yield Step(now, "data", index, data=action.data)
        elif isinstance(action, SendEvent):
            yield Step(now, "data", index, data=action.event.encode())
        elif isinstance(action, Close):
            yield Step(now, "close", index)
            return
        elif isinstance(action, Reset):
            yield Step(now, "reset", index, reason=action.reason)
            return
    yield Step(now, "close", len(actions))


def duration_s(actions: Sequence[Action]) -> float:
    """When the plan ends (its close or reset), in seconds after the exchange began."""
    total = 0.0
    for action in actions:
        if isinstance(action, Wait):
            total += max(0.0, action.ms) / 1000
        elif isinstance(action, Close | Reset):
            break
    return total


def content_after(actions: Sequence[Action], index: int) -> bool:
    """True when a body byte or a reset is planned after action ``index``.

    When a client closes a stream and nothing but waits and a clean close remained (an SDK
    stops reading at ``data: [DONE]``), the exchange counts as completed, not as abandoned.
    """
    return any(isinstance(a, SendBytes | SendEvent | Reset) for a in actions[index + 1 :])


def event_offsets_ms(
    body: bytes, chunk_marks: Sequence[tuple[int, float]], head_ms: float
) -> tuple[float, ...]:
    """When each SSE event of ``body`` was complete, in ms after the response head arrived.

    ``chunk_marks`` holds, per received chunk, the body length once it had arrived and the time
    (ms, same origin as ``head_ms``) it arrived. An event counts from the chunk that delivered
    its last byte: that is when a client could have parsed it. Offsets are relative to the
    head, so a slow first token is kept as a gap before the first event.
    """
    if not chunk_marks:
        return ()
    offsets: list[float] = []
    position = 0
    mark = 0
    for event in parse_events(body):
        raw = event.raw or event.encode()
        found = body.find(raw, position)
        end = (found if found >= 0 else position) + len(raw)
        position = end
        while mark < len(chunk_marks) - 1 and chunk_marks[mark][0] < end:
            mark += 1
        offsets.append(round(max(0.0, chunk_marks[mark][1] - head_ms), 3))
    return tuple(offsets)


KNOWN_ROUTES = {
    "api.openai.com": "openai",
    "api.anthropic.com": "anthropic",
    "generativelanguage.googleapis.com": "gemini",
}


def captured_response(
    head: ResponseHead,
    chunks: Sequence[bytes],
    head_ms: float,
    marks: Sequence[tuple[int, float]],
    *,
    timed: bool = True,
) -> Response:
    """A response a door captured while passing it through, with the SSE event timing read
    off ``marks`` (body size, ms) unless ``timed`` is False: a response buffered before faults
    were applied has already made the client wait once. A compressed stream keeps no timing
    (its events cannot be found in the bytes)."""
    body = b"".join(chunks)
    response = Response(head=head, body=body, first_byte_ms=round(head_ms, 3))
    encoding = (head.header("content-encoding") or "identity").strip().lower()
    if timed and response.is_sse and encoding == "identity":
        offsets = event_offsets_ms(body, marks, head_ms)
        response = response.model_copy(update={"event_offsets_ms": offsets})
    return response


def route_for_host(host: str) -> str:
    """The route name of a host: the provider for the well-known APIs, else the host itself."""
    host = host.lower().rstrip(".")
    return KNOWN_ROUTES.get(host, host)
