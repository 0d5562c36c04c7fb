"""Latency and jitter before the response head: the provider or tool is slow to answer.

The delay is ``latency_ms`` plus a uniform jitter in ``[-jitter_ms, +jitter_ms]`` (never below
zero), drawn from the seeded RNG, so a run replays the same delays.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from faultkit.faults.base import Alteration, Fault, FaultContext, Transform
from faultkit.plan import Action, Plan, Wait


class Latency(Fault):
    """Delay the whole response by ``latency_ms`` ± ``jitter_ms`` milliseconds."""

    type: Literal["latency"] = "latency"
    latency_ms: float = Field(ge=0, description="Delay before the response head, in milliseconds.")
    jitter_ms: float = Field(0, ge=0, description="Uniform random spread around latency_ms.")

    def stream(self, ctx: FaultContext, whole: Plan | None = None) -> Transform:
        delay = self.latency_ms
        if self.jitter_ms:
            delay = max(0.0, delay + ctx.rng.uniform(-self.jitter_ms, self.jitter_ms))
        return _Delay(round(delay, 3))


class _Delay(Transform):
    """A wait before the first action that is not itself a wait (the head, or whatever
    replaces it); a recorded time to first byte stays before it."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.alterations = [Alteration(path="response.head", action="delayed", value=delay)]
        self.done = False

    def feed(self, action: Action) -> list[Action]:
        if self.done or isinstance(action, Wait):
            return [action]
        self.done = True
        return [Wait(ms=self.delay, reason="latency"), action]

    def end(self) -> list[Action]:
        if self.done:
            return []
        self.done = True
        return [Wait(ms=self.delay, reason="latency")]
