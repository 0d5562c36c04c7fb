"""Latency and jitter before the response head: the provider or tool is slow to answer.

The delay is ``latency_ms`` plus a uniform jitter in ``[-jitter_ms, +jitter_ms]`` (never below
zero), drawn from the seeded RNG, so a run replays the same delays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from faultkit.faults.base import Alteration, Fault, FaultContext, Transform
from faultkit.plan import Action, Plan, Wait

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from faultkit.faults._search import Limits


class Latency(Fault):
    """Delay the whole response by ``latency_ms`` ± ``jitter_ms`` milliseconds."""

    type: Literal["latency"] = "latency"
    category = "timing"
    search_order = 40
    latency_ms: float = Field(ge=0, description="Delay before the response head, in milliseconds.")
    jitter_ms: float = Field(0, ge=0, description="Uniform random spread around latency_ms.")

    @classmethod
    def strategy(cls, limits: Limits, route: str | None) -> SearchStrategy[Fault]:
        """The head late by up to ``max_delay_ms``, with jitter tried last."""
        from hypothesis import strategies as st

        from faultkit.faults._search import delays

        return st.builds(
            lambda ms, jitter: cls(latency_ms=ms, jitter_ms=jitter),
            delays(limits.max_delay_ms),
            st.one_of(st.just(0), st.integers(1, max(1, limits.max_delay_ms // 4))),
        )

    def describe(self) -> str:
        jitter = f" ± {self.jitter_ms:g} ms" if self.jitter_ms else ""
        return f"answer {self.latency_ms:g} ms late{jitter}"

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
