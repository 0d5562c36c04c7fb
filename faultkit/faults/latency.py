"""Latency and jitter before the response head: the provider or tool is slow to answer.

The delay is ``latency_ms`` plus a uniform jitter in ``[-jitter_ms, +jitter_ms]`` (never below
zero), drawn from the seeded RNG, so a run replays the same delays.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from faultkit.faults.base import Alteration, Applied, Fault, FaultContext
from faultkit.plan import Plan, Wait


class Latency(Fault):
    """Delay the whole response by ``latency_ms`` ± ``jitter_ms`` milliseconds."""

    type: Literal["latency"] = "latency"
    latency_ms: float = Field(ge=0, description="Delay before the response head, in milliseconds.")
    jitter_ms: float = Field(0, ge=0, description="Uniform random spread around latency_ms.")

    def apply(self, plan: Plan, ctx: FaultContext) -> Applied:
        delay = self.latency_ms
        if self.jitter_ms:
            delay = max(0.0, delay + ctx.rng.uniform(-self.jitter_ms, self.jitter_ms))
        delay = round(delay, 3)
        head_at = plan.head_index or 0
        actions = list(plan.actions)
        actions.insert(head_at, Wait(ms=delay, reason="latency"))
        return Applied(
            plan.replace(actions), [Alteration(path="response.head", action="delayed", value=delay)]
        )
