"""Connection reset: the peer drops the TCP connection, before the response or in the middle of it.

Before the head the client sees no response at all (the SDKs retry it as a connection error);
in the middle of a body it sees an incomplete read (``RemoteProtocolError: peer closed connection
without sending complete message body``), which for a stream the SDKs never retry, so recovery is
the application's job. The alterations say exactly what the client never received: the oracle
needs that to judge whether the answer used data that did not arrive.

``cut_plan`` (where a plan is cut, by events or bytes) is shared with the ``stall`` fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from faultkit.faults.base import Alteration, Applied, Fault, FaultContext
from faultkit.plan import Action, Close, Plan, Reset, SendBytes, SendEvent, SendHead


@dataclass(frozen=True)
class Cut:
    """A plan split at one point of its body.

    ``before`` holds everything up to the cut (the head, and body actions sent before it);
    ``after`` the body actions after it; ``ending`` the plan's final Close/Reset, if any.
    ``mid_event`` is true when the cut fell inside an SSE event's bytes (the event was split
    into two ``SendBytes``), which matters because nothing may be injected there that would
    break the framing by accident.
    """

    before: tuple[Action, ...]
    after: tuple[Action, ...]
    ending: Action | None
    events_before: int
    bytes_before: int
    events_after: int
    bytes_after: int
    mid_event: bool = False

    @property
    def where(self) -> str:
        """The alteration path of the first thing not sent before the cut."""
        if self.mid_event or not (self.events_before or self.events_after):
            return f"response.body[{self.bytes_before}:]"
        return f"response.events[{self.events_before}:]"


def _data(action: Action) -> bytes | None:
    """The body bytes an action sends, or None for actions that send no body."""
    if isinstance(action, SendBytes):
        return action.data
    if isinstance(action, SendEvent):
        return action.event.encode()
    return None


def body_size(plan: Plan) -> tuple[int, int]:
    """(events, bytes) in the plan's body."""
    events = sum(1 for a in plan.actions if isinstance(a, SendEvent))
    return events, len(plan.body_bytes())


def cut_plan(plan: Plan, *, after_events: int | None = None, after_bytes: int | None = None) -> Cut:
    """Split ``plan`` after ``after_bytes`` body bytes, or else after ``after_events`` events.

    A byte cut may fall inside an event; that event is split into two ``SendBytes``. Anything
    before the head stays before the cut; a recorded wait right at the cut goes after it (it is
    the gap before the next piece). Positions past the end cut at the end.
    """
    actions = list(plan.actions)
    ending = actions.pop() if actions and isinstance(actions[-1], Close | Reset) else None
    by_bytes = after_bytes is not None
    limit = max(0, after_bytes if by_bytes else (after_events or 0))
    before: list[Action] = []
    after: list[Action] = []
    seen_head = plan.head is None
    done = False
    count = 0  # events or bytes sent so far, by the chosen measure
    events_before = bytes_before = 0
    mid_event = False
    for action in actions:
        if isinstance(action, SendHead):
            seen_head = True
            before.append(action)
            done = limit == 0
            continue
        data = _data(action)
        if not seen_head or (not done and data is None):
            before.append(action)
            continue
        if done or data is None:
            after.append(action)
            continue
        size = len(data)
        step = size if by_bytes else (1 if isinstance(action, SendEvent) else 0)
        if by_bytes and count + size > limit:
            keep = limit - count
            before.append(SendBytes(data=data[:keep]))
            after.append(SendBytes(data=data[keep:]))
            bytes_before += keep
            mid_event = isinstance(action, SendEvent)
            done = True
            continue
        before.append(action)
        count += step
        bytes_before += size
        events_before += isinstance(action, SendEvent)
        done = count >= limit and (by_bytes or step > 0)
    events_total, bytes_total = body_size(plan)
    events_after = events_total - events_before  # a split event was not fully delivered
    return Cut(
        before=tuple(before),
        after=tuple(after),
        ending=ending,
        events_before=events_before,
        bytes_before=bytes_before,
        events_after=events_after,
        bytes_after=bytes_total - bytes_before,
        mid_event=mid_event,
    )


def default_cut(plan: Plan, after_events: int | None, after_bytes: int | None) -> Cut:
    """The cut a user asked for, defaulting to half of the events (SSE) or half of the bytes."""
    if after_bytes is not None:
        return cut_plan(plan, after_bytes=after_bytes)
    events, size = body_size(plan)
    if plan.is_sse:
        return cut_plan(
            plan, after_events=after_events if after_events is not None else events // 2
        )
    return cut_plan(plan, after_bytes=size // 2)


class ConnectionReset(Fault):
    """Reset the connection before the response head, or partway through the body."""

    type: Literal["reset"] = "reset"
    at: Literal["before_head", "mid_body"] = Field(
        "mid_body", description="before_head: no response at all; mid_body: a partial body."
    )
    after_events: int | None = Field(
        None, ge=0, description="mid_body on a stream: events sent before the reset (default half)."
    )
    after_bytes: int | None = Field(
        None, ge=0, description="mid_body: body bytes sent before the reset (default half)."
    )

    @property
    def needs_source(self) -> bool:
        return self.at == "mid_body"

    def apply(self, plan: Plan, ctx: FaultContext) -> Applied:
        if self.at == "before_head" or plan.head is None:
            original = plan.head.status if plan.head is not None else None
            return Applied(
                plan.replace([Reset(reason="reset before head")]),
                [Alteration(path="response", action="removed", original=original, value="reset")],
            )
        cut = default_cut(plan, self.after_events, self.after_bytes)
        new = plan.replace([*cut.before, Reset(reason="reset mid body")])
        dropped = {"events": cut.events_after, "bytes": cut.bytes_after}
        sent = {"events": cut.events_before, "bytes": cut.bytes_before}
        return Applied(
            new, [Alteration(path=cut.where, action="removed", original=dropped, value=sent)]
        )
