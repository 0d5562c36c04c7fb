"""A plan: what a door must do to answer one request, as data.

Faults turn plans into plans; doors execute them. A plan is a sequence of actions: wait, send the
response head, send bytes, send one SSE event, close cleanly, or reset the connection. Keeping it
as data is what lets the same fault run in-process, in the proxy and under load, and lets the
ledger say exactly what was sent.

A :class:`Plan` is whole: a recording, with its recorded waits. A live upstream answer is the
same actions as they arrive, a lazy plan (:mod:`faultkit.live`), which the same faults
transform action by action (:class:`faultkit.faults.base.Transform`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from faultkit.exchange import Response, ResponseHead, without_headers
from faultkit.formats.sse import SSEEvent, parse_events

# Headers that describe the framing of the recorded bytes, not of what a door will send: a door
# frames the body itself (chunked or content-length), so these never survive into a plan.
FRAMING_HEADERS = ("content-length", "transfer-encoding", "connection", "keep-alive")


class _Action(BaseModel):
    model_config = ConfigDict(frozen=True)


class Wait(_Action):
    """Hold the connection open for ``ms`` milliseconds without sending data.

    With ``heartbeat_ms`` set, an SSE comment (``: keep-alive``) is sent at that interval, the
    way gateways keep idle streams alive; heartbeats reset a client's read timeout.
    """

    kind: Literal["wait"] = "wait"
    ms: float
    heartbeat_ms: float | None = None
    reason: str = ""


class SendHead(_Action):
    kind: Literal["head"] = "head"
    head: ResponseHead


class SendBytes(_Action):
    kind: Literal["bytes"] = "bytes"
    data: bytes


class SendEvent(_Action):
    kind: Literal["event"] = "event"
    event: SSEEvent


class Close(_Action):
    """End the response cleanly (for a stream: the chunked terminator, no more events)."""

    kind: Literal["close"] = "close"


class Reset(_Action):
    """Drop the connection abruptly: before the head the client sees no response at all;
    after it, an incomplete body."""

    kind: Literal["reset"] = "reset"
    reason: str = ""


Action = Annotated[
    Wait | SendHead | SendBytes | SendEvent | Close | Reset, Field(discriminator="kind")
]


# Recorded stream timing is replayed as recorded (each SSE event after its recorded gap) unless
# a run scales it: 0 plays as fast as possible. Every door and command takes this default.
DEFAULT_TIMING_SCALE = 1.0


class Plan(BaseModel):
    """An ordered, immutable list of actions. Faults return new plans; nothing mutates one."""

    model_config = ConfigDict(frozen=True)

    actions: tuple[Action, ...]

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_response(cls, response: Response, timing_scale: float = DEFAULT_TIMING_SCALE) -> Plan:
        """The plan that replays ``response`` as recorded.

        The recorded time to the response head is waited first, and an SSE body becomes one
        action per event, separated by the recorded gaps between events (all scaled by
        ``timing_scale``; 0 replays as fast as possible).
        """
        head = response.head.model_copy(
            update={"headers": without_headers(response.head.headers, *FRAMING_HEADERS)}
        )
        actions: list[Action] = []
        if response.first_byte_ms and timing_scale > 0:
            actions.append(Wait(ms=response.first_byte_ms * timing_scale, reason="recorded"))
        actions.append(SendHead(head=head))
        if response.is_sse:
            events = parse_events(response.body)
            offsets = response.event_offsets_ms
            previous = 0.0
            for i, event in enumerate(events):
                if offsets is not None and i < len(offsets) and timing_scale > 0:
                    gap = (offsets[i] - previous) * timing_scale
                    previous = offsets[i]
                    if gap > 0:
                        actions.append(Wait(ms=gap, reason="recorded"))
                actions.append(SendEvent(event=event))
        elif response.body:
            actions.append(SendBytes(data=response.body))
        actions.append(Close())
        return cls(actions=tuple(actions))

    # -- reading --------------------------------------------------------------------------
    @property
    def head(self) -> ResponseHead | None:
        for action in self.actions:
            if isinstance(action, SendHead):
                return action.head
        return None

    @property
    def head_index(self) -> int | None:
        for i, action in enumerate(self.actions):
            if isinstance(action, SendHead):
                return i
        return None

    @property
    def is_sse(self) -> bool:
        return any(isinstance(a, SendEvent) for a in self.actions)

    def events(self) -> list[SSEEvent]:
        return [a.event for a in self.actions if isinstance(a, SendEvent)]

    def body_bytes(self) -> bytes:
        """Every body byte the plan sends, in order (events encoded)."""
        out = bytearray()
        for action in self.actions:
            if isinstance(action, SendBytes):
                out += action.data
            elif isinstance(action, SendEvent):
                out += action.event.encode()
        return bytes(out)

    def total_wait_ms(self) -> float:
        return sum(a.ms for a in self.actions if isinstance(a, Wait))

    # -- editing (each returns a new plan) --------------------------------------------------
    def replace(self, actions: Iterable[Action]) -> Plan:
        return Plan(actions=tuple(actions))

    def with_head(self, head: ResponseHead) -> Plan:
        return self.replace(
            SendHead(head=head) if isinstance(a, SendHead) else a for a in self.actions
        )

    def with_body(self, body: bytes) -> Plan:
        """Same head and ending, with the body replaced by ``body`` sent in one piece."""
        before: list[Action] = []
        for action in self.actions:
            before.append(action)
            if isinstance(action, SendHead):
                break
        ending = (
            self.actions[-1]
            if self.actions and isinstance(self.actions[-1], Close | Reset)
            else Close()
        )
        middle: list[Action] = [SendBytes(data=body)] if body else []
        return self.replace([*before, *middle, ending])

    def map_events(self, fn) -> Plan:  # type: ignore[no-untyped-def]
        """Apply ``fn(index, event) -> SSEEvent | None`` to every event; None drops it."""
        out: list[Action] = []
        index = 0
        for action in self.actions:
            if isinstance(action, SendEvent):
                new = fn(index, action.event)
                index += 1
                if new is not None:
                    out.append(SendEvent(event=new))
            else:
                out.append(action)
        return self.replace(out)


def error_plan(head: ResponseHead, body: bytes) -> Plan:
    """A complete non-streamed response with ``body``."""
    actions: list[Action] = [SendHead(head=head)]
    if body:
        actions.append(SendBytes(data=body))
    actions.append(Close())
    return Plan(actions=tuple(actions))
