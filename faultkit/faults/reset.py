"""Connection reset: the peer drops the TCP connection, before the response or in the middle of it.

Before the head the client sees no response at all (the SDKs retry it as a connection error);
in the middle of a body its read fails (httpx's ``ReadError: connection reset by peer``, through
the proxy and in-process alike), which for a stream the SDKs never retry, so recovery is the
application's job. The alterations say exactly what the client never received: the oracle
needs that to judge whether the answer used data that did not arrive.

Where a body is cut (by events or bytes) is one rule, :class:`Cutter`, shared with the
``stall`` fault; both act at the cut as the body passes, so on a live stream the reset comes
right after the event it follows, when that event arrives. Only the default ("half of the
body") needs the whole body and is buffered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from faultkit.faults.base import Alteration, Fault, FaultContext, Transform
from faultkit.plan import Action, Close, Plan, Reset, SendBytes, SendEvent, SendHead

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from faultkit.faults._search import Limits


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


class Cutter:
    """Where a body is cut, decided action by action as the body passes: the one rule behind
    :func:`cut_plan` (a whole plan) and the ``stall`` and ``reset`` transforms (a live stream).

    Cuts after ``after_bytes`` body bytes, or else after ``after_events`` events. A byte cut
    may fall inside an event; that event is split into two ``SendBytes``. Anything before the
    head stays before the cut; a recorded wait right at the cut goes after it (it is the gap
    before the next piece). ``feed`` returns (before, after): the parts of the action on each
    side; ``cut`` turns True as soon as the cut point has passed. Endings (``Close``/``Reset``)
    are the caller's business and never fed.
    """

    def __init__(self, *, after_events: int | None = None, after_bytes: int | None = None) -> None:
        self.by_bytes = after_bytes is not None
        self.limit = max(0, after_bytes if after_bytes is not None else (after_events or 0))
        self.seen_head = False
        self.cut = False
        self.count = 0  # events or bytes sent so far, by the chosen measure
        self.events_before = self.bytes_before = 0
        self.events_after = self.bytes_after = 0
        self.mid_event = False

    def feed(self, action: Action) -> tuple[list[Action], list[Action]]:
        if isinstance(action, SendHead):
            self.seen_head = True
            self.cut = self.limit == 0
            return [action], []
        data = _data(action)
        if self.cut:
            if data is not None:
                self.events_after += isinstance(action, SendEvent)
                self.bytes_after += len(data)
            return [], [action]
        if not self.seen_head or data is None:
            return [action], []
        size = len(data)
        step = size if self.by_bytes else (1 if isinstance(action, SendEvent) else 0)
        if self.by_bytes and self.count + size > self.limit:
            keep = self.limit - self.count
            self.bytes_before += keep
            self.bytes_after += size - keep
            self.mid_event = isinstance(action, SendEvent)  # the split event is not delivered
            self.events_after += self.mid_event
            self.cut = True
            return [SendBytes(data=data[:keep])], [SendBytes(data=data[keep:])]
        self.count += step
        self.bytes_before += size
        self.events_before += isinstance(action, SendEvent)
        self.cut = self.count >= self.limit and (self.by_bytes or step > 0)
        return [action], []

    def dropped(self, known: bool = True) -> dict[str, int | None]:
        """What the client never got. ``known`` False when the source was not read to its end
        (a live stream is left at the cut): the rest is then unknown, not zero."""
        if not known:
            return {"events": None, "bytes": None}
        return {"events": self.events_after, "bytes": self.bytes_after}

    def sent(self) -> dict[str, int]:
        return {"events": self.events_before, "bytes": self.bytes_before}


def default_cut(plan: Plan, after_events: int | None, after_bytes: int | None) -> Cutter:
    """The cutter for the cut a user asked for, defaulting to half of the events (SSE) or half
    of the bytes of the whole ``plan``."""
    if after_bytes is not None:
        return Cutter(after_bytes=after_bytes)
    events, size = body_size(plan)
    if plan.is_sse:
        return Cutter(after_events=after_events if after_events is not None else events // 2)
    return Cutter(after_bytes=size // 2)


class CutTransform(Transform):
    """A transform that passes a body up to a cut, then acts there (subclasses: what to send
    at the cut, and after it). The cut falls where the :class:`Cutter` says; a source that
    ends before it is cut at its end."""

    def __init__(self, cutter: Cutter, *, complete: bool = False, sse: bool = False) -> None:
        super().__init__()
        self.cutter = cutter
        self.complete = complete  # fed a whole plan: what follows the cut is all known
        self.sse = sse  # the body is an event stream (paths name events, heartbeats allowed)
        self.acted = False  # the cut's action went out
        self.ended = False  # the source's own ending was fed (the rest is known)
        self.finished = False  # this transform sent its ending: what follows is dropped

    def feed(self, action: Action) -> list[Action]:
        if self.finished:
            if isinstance(action, Close | Reset):
                self.ended = True
            else:
                self.cutter.feed(action)
            return []
        if isinstance(action, Close | Reset):
            self.ended = True
            out = [] if self.acted or not self.cutter.seen_head else self.at_cut()
            return out + self.at_ending(action)
        before, after = self.cutter.feed(action)
        out = list(before)
        if self.cutter.cut and not self.acted:
            out += self.at_cut()
        if after and not self.finished:
            out += self.past_cut(after)
        return out

    @property
    def known(self) -> bool:
        """Whether everything after the cut was counted (a live source is left at the cut)."""
        return self.complete or self.ended

    @property
    def where(self) -> str:
        """The alteration path of the first thing not sent before the cut."""
        cutter = self.cutter
        if cutter.mid_event or not (cutter.events_before or cutter.events_after or self.sse):
            return f"response.body[{cutter.bytes_before}:]"
        return f"response.events[{cutter.events_before}:]"

    def end(self) -> list[Action]:
        if self.finished or self.ended:
            self.close_alterations()
            return []
        out = [] if self.acted or not self.cutter.seen_head else self.at_cut()
        out += self.at_ending(None)
        self.close_alterations()
        return out

    def at_cut(self) -> list[Action]:
        """What is sent at the cut point (called once)."""
        self.acted = True
        return []

    def past_cut(self, actions: list[Action]) -> list[Action]:
        return actions

    def at_ending(self, ending: Action | None) -> list[Action]:
        """The source ended (``ending`` None: it stopped without one)."""
        return [ending or Close()]

    def close_alterations(self) -> None:
        """Write the alterations once everything known has been counted."""


class _ResetTransform(CutTransform):
    def at_cut(self) -> list[Action]:
        super().at_cut()
        self.finished = True
        return [Reset(reason="reset mid body")]

    def at_ending(self, ending: Action | None) -> list[Action]:
        return []

    def close_alterations(self) -> None:
        cutter = self.cutter
        self.alterations = [
            Alteration(
                path=self.where,
                action="removed",
                original=cutter.dropped(self.known),
                value=cutter.sent(),
            )
        ]


class ReplaceAll(Transform):
    """Drops every action and sends ``actions`` instead, at the first action fed (or at the
    end, for an empty source): a fault that answers instead of the source."""

    def __init__(self, actions: list[Action], alteration: Alteration, whole: Plan | None) -> None:
        super().__init__()
        self._actions = actions
        self._alteration = alteration
        self._sent = False
        self._status = whole.head.status if whole is not None and whole.head else None
        self._whole = whole is not None

    def feed(self, action: Action) -> list[Action]:
        if isinstance(action, SendHead) and not self._whole and self._status is None:
            self._status = action.head.status
        return self.end()

    def end(self) -> list[Action]:
        if self._sent:
            return []
        self._sent = True
        self.alterations = [self._alteration.model_copy(update={"original": self._status})]
        return list(self._actions)


class ConnectionReset(Fault):
    """Reset the connection before the response head, or partway through the body."""

    type: Literal["reset"] = "reset"
    category = "failure"
    search_order = 30
    at: Literal["before_head", "mid_body"] = Field(
        "mid_body", description="before_head: no response at all; mid_body: a partial body."
    )
    after_events: int | None = Field(
        None, ge=0, description="mid_body on a stream: events sent before the reset (default half)."
    )
    after_bytes: int | None = Field(
        None, ge=0, description="mid_body: body bytes sent before the reset (default half)."
    )

    @classmethod
    def strategy(cls, limits: Limits, route: str | None) -> SearchStrategy[Fault]:
        """A reset before the head, or mid-body (after some events, or at the default half)."""
        from hypothesis import strategies as st

        from faultkit.faults._search import event_index, optional

        before = st.just(cls(at="before_head"))
        mid = optional(event_index(limits.max_event)).map(
            lambda n: cls(at="mid_body", after_events=n)
        )
        return st.one_of(before, mid)

    def describe(self) -> str:
        if self.at == "before_head":
            return "connection reset before any response"
        if self.after_bytes is not None:
            return f"connection reset after {self.after_bytes} body bytes"
        if self.after_events is not None:
            return f"connection reset after {self.after_events} events"
        return "connection reset mid-body"

    @property
    def needs_source(self) -> bool:
        return self.at == "mid_body"

    def stream(self, ctx: FaultContext, whole: Plan | None = None) -> Transform | None:
        if self.at == "before_head" or (whole is not None and whole.head is None):
            removed = Alteration(path="response", action="removed", value="reset")
            return ReplaceAll([Reset(reason="reset before head")], removed, whole)
        if whole is not None:
            cutter = default_cut(whole, self.after_events, self.after_bytes)
            return _ResetTransform(cutter, complete=True, sse=whole.is_sse)
        if self.after_bytes is None and (self.after_events is None or not ctx.live_sse):
            return None  # "half of the body": only the whole body knows where that is
        cutter = Cutter(after_events=self.after_events, after_bytes=self.after_bytes)
        return _ResetTransform(cutter, sse=ctx.live_sse)
