"""The fault interface: a parameter model plus one pure plan transform.

A fault's pydantic fields are exactly the names used in scenario YAML and in the control API
(units in the name: ``latency_ms``). ``apply`` never does I/O, never sleeps and never reads the
clock: it is given the plan, the request and a seeded RNG, and returns a new plan together with
what it removed or altered, because the oracle judges the answer against those original values.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict

from faultkit.exchange import Request
from faultkit.formats.detect import WireFormat
from faultkit.plan import Plan


class Alteration(BaseModel):
    """One thing a fault changed: where, what it was, what it became."""

    model_config = ConfigDict(frozen=True)

    path: str
    action: str  # removed | replaced | added | renamed | truncated | retyped | injected | delayed
    original: Any = None
    value: Any = None


class Applied(NamedTuple):
    plan: Plan
    alterations: list[Alteration]


@dataclass(frozen=True)
class FaultContext:
    """What a fault may look at besides the plan. ``rng`` is seeded from (scenario seed, rule,
    call index), so the same run makes the same choices."""

    request: Request
    format: WireFormat
    rng: random.Random
    call_index: int = 1
    attempt: int = 1
    # Unix time the request arrived, from the door (the engine never reads a clock): for
    # what a provider states as an absolute time, such as Anthropic's rate-limit resets.
    now_s: float | None = None


class Fault(BaseModel):
    """Base of every fault. Subclasses set ``type: Literal[...]`` and implement ``apply``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str

    # Wire formats this fault understands; None means any format.
    formats: ClassVar[frozenset[WireFormat] | None] = None

    @property
    def needs_source(self) -> bool:
        """False when the fault replaces the whole response (an HTTP error, a reset before the
        head), so no recording or upstream call is needed to answer."""
        return True

    def applies_to(self, fmt: WireFormat) -> bool:
        return self.formats is None or fmt in self.formats

    def apply(self, plan: Plan, ctx: FaultContext) -> Applied:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """Parameters as written in a scenario (defaults included)."""
        return self.model_dump(mode="json")
