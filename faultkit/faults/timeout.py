"""Timeout: the upstream accepts the connection and never answers; the connection is dropped later.

Like Toxiproxy's ``timeout`` toxic, but for one HTTP exchange: no head, no body, silence for
``timeout_ms``, then a reset. A client with a read timeout shorter than that sees a timeout (the
SDKs retry it); one without waits the whole time and then sees a connection error. No recording
is needed: nothing of it would be sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from faultkit.faults.base import Alteration, Fault, FaultContext, Transform
from faultkit.faults.reset import ReplaceAll
from faultkit.plan import Action, Plan, Reset, Wait

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from faultkit.faults._search import Limits


class Timeout(Fault):
    """Send nothing for ``timeout_ms`` milliseconds, then reset the connection."""

    type: Literal["timeout"] = "timeout"
    category = "failure"
    search_order = 20
    timeout_ms: float = Field(gt=0, description="Silence before the connection is dropped.")

    @classmethod
    def strategy(cls, limits: Limits, route: str | None) -> SearchStrategy[Fault]:
        """No answer for up to ``max_delay_ms``, then the connection drops."""
        from faultkit.faults._search import delays

        return delays(limits.max_delay_ms).map(lambda ms: cls(timeout_ms=ms))

    def describe(self) -> str:
        return f"no answer for {self.timeout_ms:g} ms, then reset"

    @property
    def needs_source(self) -> bool:
        return False

    def stream(self, ctx: FaultContext, whole: Plan | None = None) -> Transform:
        removed = Alteration(
            path="response", action="removed", value={"reset_after_ms": self.timeout_ms}
        )
        actions: list[Action] = [
            Wait(ms=self.timeout_ms, reason="timeout"),
            Reset(reason="timeout: no response"),
        ]
        return ReplaceAll(actions, removed, whole)
