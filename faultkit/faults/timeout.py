"""Timeout: the upstream accepts the connection and never answers; the connection is dropped later.

Like Toxiproxy's ``timeout`` toxic, but for one HTTP exchange: no head, no body, silence for
``timeout_ms``, then a reset. A client with a read timeout shorter than that sees a timeout (the
SDKs retry it); one without waits the whole time and then sees a connection error. No recording
is needed: nothing of it would be sent.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from faultkit.faults.base import Alteration, Applied, Fault, FaultContext
from faultkit.plan import Plan, Reset, Wait


class Timeout(Fault):
    """Send nothing for ``timeout_ms`` milliseconds, then reset the connection."""

    type: Literal["timeout"] = "timeout"
    timeout_ms: float = Field(gt=0, description="Silence before the connection is dropped.")

    @property
    def needs_source(self) -> bool:
        return False

    def apply(self, plan: Plan, ctx: FaultContext) -> Applied:
        original = plan.head.status if plan.head is not None else None
        new = plan.replace(
            [Wait(ms=self.timeout_ms, reason="timeout"), Reset(reason="timeout: no response")]
        )
        return Applied(
            new,
            [
                Alteration(
                    path="response",
                    action="removed",
                    original=original,
                    value={"reset_after_ms": self.timeout_ms},
                )
            ],
        )
