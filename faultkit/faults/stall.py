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

from typing import Literal

from pydantic import Field

from faultkit.faults.base import Alteration, Applied, Fault, FaultContext
from faultkit.faults.reset import cut_plan
from faultkit.plan import Action, Close, Plan, Reset, Wait


class Stall(Fault):
    """Pause the body for ``stall_ms`` after ``after_events`` events (or ``after_bytes``)."""

    type: Literal["stall"] = "stall"
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

    def apply(self, plan: Plan, ctx: FaultContext) -> Applied:
        if plan.head is None:
            return Applied(plan, [])
        if self.after_bytes is not None:
            cut = cut_plan(plan, after_bytes=self.after_bytes)
        elif plan.is_sse:
            cut = cut_plan(plan, after_events=self.after_events)
        else:
            cut = cut_plan(plan, after_bytes=len(plan.body_bytes()) // 2)
        heartbeat = self.heartbeat_ms if plan.is_sse and not cut.mid_event else None
        wait = Wait(ms=self.stall_ms, heartbeat_ms=heartbeat, reason="stall")
        alterations = [Alteration(path=cut.where, action="delayed", value=self.stall_ms)]
        rest: list[Action]
        if self.then == "continue":
            rest = [*cut.after, cut.ending or Close()]
        else:
            rest = [Close() if self.then == "close" else Reset(reason="reset after stall")]
            alterations.append(
                Alteration(
                    path=cut.where,
                    action="removed",
                    original={"events": cut.events_after, "bytes": cut.bytes_after},
                    value=self.then,
                )
            )
        return Applied(plan.replace([*cut.before, wait, *rest]), alterations)
