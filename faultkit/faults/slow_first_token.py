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

from faultkit.faults.base import Alteration, Fault, FaultContext, Transform
from faultkit.plan import Action, Close, Plan, Reset, SendBytes, SendEvent, SendHead, Wait


class SlowFirstToken(Fault):
    """Hold the body (not the head) for ``delay_ms`` milliseconds."""

    type: Literal["slow_first_token"] = "slow_first_token"
    delay_ms: float = Field(ge=0, description="Delay between the head and the first body byte.")
    heartbeat_ms: float | None = Field(
        None, gt=0, description="Send ': keep-alive' comments at this interval while waiting."
    )

    def stream(self, ctx: FaultContext, whole: Plan | None = None) -> Transform:
        sse = whole.is_sse if whole is not None else ctx.live_sse
        heartbeat = self.heartbeat_ms if sse else None
        wait = Wait(ms=self.delay_ms, heartbeat_ms=heartbeat, reason="slow_first_token")
        path = "response.events[0]" if sse else "response.body"
        return _BeforeBody(wait, Alteration(path=path, action="delayed", value=self.delay_ms))


class _BeforeBody(Transform):
    """``wait`` before the first body action after the head; with no body, before the end;
    with no end either, last."""

    def __init__(self, wait: Wait, alteration: Alteration) -> None:
        super().__init__()
        self.wait = wait
        self.alterations = [alteration]
        self.head_seen = False
        self.done = False

    def feed(self, action: Action) -> list[Action]:
        if self.done:
            return [action]
        if isinstance(action, SendHead):
            self.head_seen = True
            return [action]
        if self.head_seen and isinstance(action, SendEvent | SendBytes | Close | Reset):
            self.done = True
            return [self.wait, action]
        return [action]

    def end(self) -> list[Action]:
        if self.done:
            return []
        self.done = True
        return [self.wait]
