"""Mid-stream stall: some of the response arrives, then silence with the connection open.

This is the failure behind the "hung for hours" reports (§6.9 of the wire-format reference): the
SDKs' read timeout is a per-read inactivity timer, so a stall longer than it raises a timeout
from the stream iterator (never retried), while a stall filled with ``: keep-alive`` comments
never times out at all. ``then`` says how the stream ends after the stall: the rest follows
("continue"), the body ends cleanly without it ("close": a silent truncation), or the connection
drops ("reset").

Heartbeats are only sent on SSE streams and only at an event boundary: a comment line inside a
JSON body, or inside half an event, would corrupt the data instead of keeping it alive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from faultkit.faults.base import Alteration, Fault, FaultContext, Transform
from faultkit.faults.reset import Cutter, CutTransform
from faultkit.plan import Action, Close, Plan, Reset, Wait

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from faultkit.faults._search import Limits


class Stall(Fault):
    """Pause the body for ``stall_ms`` after ``after_events`` events (or ``after_bytes``)."""

    type: Literal["stall"] = "stall"
    category = "timing"
    search_order = 60
    stall_ms: float = Field(gt=0, description="How long the stream goes silent, in milliseconds.")
    after_events: int = Field(1, ge=0, description="SSE events sent before the stall.")
    after_bytes: int | None = Field(
        None,
        ge=0,
        description="Body bytes sent before the stall; for non-SSE bodies (default: half).",
    )
    heartbeat_ms: float | None = Field(
        None, gt=0, description="Send ': keep-alive' comments at this interval while stalled."
    )
    then: Literal["continue", "close", "reset"] = Field(
        "continue", description="After the stall: send the rest, end cleanly, or reset."
    )

    @classmethod
    def strategy(cls, limits: Limits, route: str | None) -> SearchStrategy[Fault]:
        """The stream goes silent after some events, then resumes, ends cleanly or resets."""
        from hypothesis import strategies as st

        from faultkit.faults._search import delays, event_index

        return st.builds(
            lambda ms, after, then: cls(stall_ms=ms, after_events=after, then=then),
            delays(limits.max_delay_ms),
            event_index(limits.max_event),
            st.sampled_from(("continue", "close", "reset")),
        )

    def describe(self) -> str:
        where = (
            f"after {self.after_bytes} bytes"
            if self.after_bytes is not None
            else f"after {self.after_events} events"
        )
        then = {"continue": "then resumes", "close": "then ends early", "reset": "then resets"}
        return f"stream stalls {self.stall_ms:g} ms {where}, {then[self.then]}"

    def stream(self, ctx: FaultContext, whole: Plan | None = None) -> Transform | None:
        if whole is not None and whole.head is None:
            return Transform()  # no response to stall
        sse = whole.is_sse if whole is not None else ctx.live_sse
        if self.after_bytes is not None:
            cutter = Cutter(after_bytes=self.after_bytes)
        elif sse:
            cutter = Cutter(after_events=self.after_events)
        elif whole is not None:
            cutter = Cutter(after_bytes=len(whole.body_bytes()) // 2)
        else:
            return None  # half of a body: only the whole body knows where that is
        return _StallTransform(self, cutter, complete=whole is not None, sse=sse)


class _StallTransform(CutTransform):
    def __init__(self, fault: Stall, cutter: Cutter, *, complete: bool, sse: bool) -> None:
        super().__init__(cutter, complete=complete, sse=sse)
        self.fault = fault

    def at_cut(self) -> list[Action]:
        super().at_cut()
        fault = self.fault
        heartbeat = fault.heartbeat_ms if self.sse and not self.cutter.mid_event else None
        out: list[Action] = [Wait(ms=fault.stall_ms, heartbeat_ms=heartbeat, reason="stall")]
        if fault.then != "continue":
            self.finished = True
            out.append(Close() if fault.then == "close" else Reset(reason="reset after stall"))
        return out

    def at_ending(self, ending: Action | None) -> list[Action]:
        return [] if self.finished else [ending or Close()]

    def close_alterations(self) -> None:
        fault = self.fault
        self.alterations = [Alteration(path=self.where, action="delayed", value=fault.stall_ms)]
        if fault.then != "continue":
            self.alterations.append(
                Alteration(
                    path=self.where,
                    action="removed",
                    original=self.cutter.dropped(self.known),
                    value=fault.then,
                )
            )
