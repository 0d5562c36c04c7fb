"""Slow first token: the response head arrives at once, then nothing until the first token.

Gateways flush headers early and reasoning models think for a minute or two before the first
``data:`` line (§6.8 of the wire-format reference), so the client's connect and header timeouts
pass and only its read timeout (or an application-level time-to-first-token limit) can fire.
With ``heartbeat_ms`` the wait is filled with ``: keep-alive`` comments, which reset the SDKs'
read timer: a client without its own deadline then waits the full delay.

Heartbeats are only sent on SSE streams: in a JSON body a comment line would be corruption.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from faultkit.faults.base import Alteration, Applied, Fault, FaultContext
from faultkit.plan import Close, Plan, Reset, SendBytes, SendEvent, Wait


class SlowFirstToken(Fault):
    """Hold the body (not the head) for ``delay_ms`` milliseconds."""

    type: Literal["slow_first_token"] = "slow_first_token"
    delay_ms: float = Field(ge=0, description="Delay between the head and the first body byte.")
    heartbeat_ms: float | None = Field(
        None, gt=0, description="Send ': keep-alive' comments at this interval while waiting."
    )

    def apply(self, plan: Plan, ctx: FaultContext) -> Applied:
        actions = list(plan.actions)
        start = (plan.head_index + 1) if plan.head_index is not None else 0
        # Before the first body action; with no body, before the end; else at the end.
        at = next(
            (
                i
                for i in range(start, len(actions))
                if isinstance(actions[i], SendEvent | SendBytes)
            ),
            next(
                (i for i in range(start, len(actions)) if isinstance(actions[i], Close | Reset)),
                len(actions),
            ),
        )
        heartbeat = self.heartbeat_ms if plan.is_sse else None
        actions.insert(
            at, Wait(ms=self.delay_ms, heartbeat_ms=heartbeat, reason="slow_first_token")
        )
        path = "response.events[0]" if plan.is_sse else "response.body"
        return Applied(
            plan.replace(actions), [Alteration(path=path, action="delayed", value=self.delay_ms)]
        )
