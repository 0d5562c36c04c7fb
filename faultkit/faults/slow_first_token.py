"""Slow first token: the response head arrives at once, then nothing until the first token.

Gateways flush headers early and reasoning models think for a minute or two before the first
``data:`` line (§6.8 of the wire-format reference), so the client's connect and header timeouts
pass and only its read timeout (or an application-level time-to-first-token limit) can fire.
With ``heartbeat_ms`` the wait is filled with ``: keep-alive`` comments, which reset the SDKs'
read timer: a client without its own deadline then waits the full delay.

Heartbeats are only sent on SSE streams: in a JSON body a comment line would be corruption.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from faultkit.faults.base import Alteration, Fault, FaultContext, Transform
from faultkit.plan import Action, Close, Plan, Reset, SendBytes, SendEvent, SendHead, Wait

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from faultkit.faults._search import Limits


class SlowFirstToken(Fault):
    """Hold the body (not the head) for ``delay_ms`` milliseconds; heartbeats only on
    SSE."""

    type: Literal["slow_first_token"] = "slow_first_token"
    category = "timing"
    search_order = 50
    delay_ms: float = Field(ge=0, description="Delay between the head and the first body byte.")
    heartbeat_ms: float | None = Field(
        None, gt=0, description="Send ': keep-alive' comments at this interval while waiting."
    )

    @classmethod
    def strategy(cls, limits: Limits, route: str | None) -> SearchStrategy[Fault]:
        """The head arrives, the first token is late; optionally kept alive by heartbeats."""
        from hypothesis import strategies as st

        from faultkit.faults._search import delays, optional

        return st.builds(
            lambda ms, beat: cls(delay_ms=ms, heartbeat_ms=beat),
            delays(limits.max_delay_ms),
            optional(st.integers(1, 10).map(lambda n: n * 100)),
        )

    def describe(self) -> str:
        beats = f" (keep-alive every {self.heartbeat_ms:g} ms)" if self.heartbeat_ms else ""
        return f"first token {self.delay_ms:g} ms late{beats}"

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
