"""The fault interface: a parameter model plus one pure transform, in two forms.

A fault's pydantic fields are exactly the names used in scenario YAML and in the control API
(units in the name: ``latency_ms``). A fault never does I/O, never sleeps and never reads the
clock: it is given the plan (or its actions one by one), the request and a seeded RNG, and says
what it removed or altered, because the oracle judges the answer against those original values.

A response reaches a fault in one of two ways: as a whole :class:`~faultkit.plan.Plan` (a
recording, replayed with its recorded waits) or as a live stream (an upstream answer, action by
action as it arrives, with no waits: the real timing is the timing). Each fault writes its
behaviour once and gets the other form from this module:

- a **stream fault** (latency, slow first token, stall, reset, timeout, broken SSE framing,
  a duplicated event) implements
  :meth:`Fault.stream`, a :class:`Transform` that turns actions into actions as they pass; its
  ``apply`` is that transform run over the plan (:func:`run`);
- a **whole-body fault** (schema drift, a tool call's arguments, a malformed body, ...) needs the
  whole answer before it can say what to change: it implements ``apply``, and a live stream
  reaches it through the one buffering adaptor, :class:`WholeBody`.

A stream fault whose parameters depend on the whole body (a reset "after half of the events")
says so by returning None from ``stream`` when it is not given the whole plan: it is then
buffered like a whole-body fault, and resolves its default from the plan it is handed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict

from faultkit.exchange import Request
from faultkit.formats.detect import WireFormat
from faultkit.plan import Action, Close, Plan, Reset

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from faultkit.faults._search import Limits

# What a fault does to an exchange, as the oracle reads it (faultkit.ledger):
# - "failure": no usable answer at all (the transport or the framing broke); a client may
#   retry it;
# - "timing": only when things arrive changes; the exchange's ending says whether the client
#   gave up;
# - "meaning": an answer arrives, but it says something else than the recording (drifted,
#   partial, cut at the token limit, refused): trusting it is the risk.
Category = Literal["failure", "timing", "meaning"]


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
    # The response's head says it is an event stream: what a live transform, which has no
    # whole plan to count events in, goes by (a paths names events, heartbeats are allowed).
    live_sse: bool = False


class Fault(BaseModel):
    """Base of every fault. A subclass is one module of ``faultkit/faults/`` and declares
    everything the rest of faultkit needs to know about it (:mod:`faultkit.faults` builds the
    registry, the scenario schema, the search and the docs table from these): ``type:
    Literal[...]``, its parameters as fields, ``category``, ``search_order``, :meth:`strategy`,
    :meth:`describe`, and ``apply`` or ``stream``. Its class docstring's first line is its
    description in the docs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str

    # Wire formats this fault understands; None means any format.
    formats: ClassVar[frozenset[WireFormat] | None] = None
    category: ClassVar[Category]
    # Its place in the default search: hypothesis shrinks towards the first choice, so the
    # plainest, most common faults come first. Unique; leave gaps (http_error is 10).
    search_order: ClassVar[int]
    # The values its alterations add or replace are wrong: an answer that carries one passed
    # the fault on (the oracle's invalid_output_leaked looks for them). Schema drift does.
    leaks_values: ClassVar[bool] = False
    # The changed answer is still one a client may act on (a tool call the model repeats):
    # the request that follows it is the conversation's next step, not a re-ask, and replay
    # answers it as the changed answer's recording (see ``Engine.plan``).
    answer_usable: ClassVar[bool] = False

    @classmethod
    def strategy(cls, limits: Limits, route: str | None) -> SearchStrategy[Fault]:
        """A hypothesis strategy of this fault, within ``limits``, for a call on ``route``
        (a provider's name such as ``openai``, or None for any), shrinking towards the
        plainest case. Import hypothesis inside: it is a dev dependency."""
        raise NotImplementedError(f"{cls.__name__} declares no strategy")

    def describe(self) -> str:
        """The fault in a few words, as a failure report prints it (``429 retry-after
        1s``). By default its type and the parameters that differ from their defaults."""
        params = self.model_dump(mode="json", exclude_defaults=True)
        params.pop("type", None)
        inner = ", ".join(f"{k}={v!r}" for k, v in params.items())
        return f"{self.type}({inner})" if inner else self.type

    @property
    def needs_source(self) -> bool:
        """False when the fault replaces the whole response (an HTTP error, a reset before the
        head), so no recording or upstream call is needed to answer."""
        return True

    def applies_to(self, fmt: WireFormat) -> bool:
        return self.formats is None or fmt in self.formats

    def apply(self, plan: Plan, ctx: FaultContext) -> Applied:
        """``plan`` with the fault applied, and what it changed. A stream fault gets this from
        its transform; a whole-body fault overrides it."""
        transform = self.stream(ctx, plan)
        if transform is None:
            raise NotImplementedError(f"{type(self).__name__} implements neither apply nor stream")
        return run(transform, plan)

    def stream(self, ctx: FaultContext, whole: Plan | None = None) -> Transform | None:
        """The fault as a transform of actions as they pass, or None when it needs the whole
        body. ``whole`` is the complete plan when there is one (a recording, or a buffered
        body): a transform may read what only the whole tells (how many events there are)."""
        return None

    def transform(self, ctx: FaultContext) -> Transform:
        """The fault over a live stream: its own transform, or the buffering adaptor."""
        return self.stream(ctx) or WholeBody(self, ctx)

    def params(self) -> dict[str, Any]:
        """Parameters as written in a scenario (defaults included)."""
        return self.model_dump(mode="json")


class Transform:
    """One fault on one response, fed the plan's actions in order (``feed``), then told the
    source ended (``end``). Each call returns the actions to pass on at once; ``alterations``
    is complete after ``end``. Subclasses keep their own per-response state."""

    def __init__(self) -> None:
        self.alterations: list[Alteration] = []

    def feed(self, action: Action) -> list[Action]:
        return [action]

    def end(self) -> list[Action]:
        return []

    @property
    def changed(self) -> bool:
        """Whether the transform changed anything; False is a "nothing to alter" skip."""
        return bool(self.alterations)


def run(transform: Transform, plan: Plan) -> Applied:
    """``plan`` through ``transform``: what a stream fault's ``apply`` is."""
    out: list[Action] = []
    for action in plan.actions:
        out.extend(transform.feed(action))
    out.extend(transform.end())
    # Every action is one already made (by the plan or the transform): no validation needed,
    # and skipping it keeps a replayed fault as cheap as before transforms (the proxy's
    # header-fault path, measured by benchmarks/proxy_hotpath.py).
    return Applied(Plan.model_construct(actions=tuple(out)), transform.alterations)


class WholeBody(Transform):
    """The one buffering adaptor: holds every action until the source ends (its ``Close`` or
    ``Reset``, or ``end``), then hands the whole plan to the fault's ``apply`` and passes on
    what it returns. The client sees nothing of the body until then: a whole-body fault cannot
    know what to change before it has the whole answer."""

    def __init__(self, fault: Fault, ctx: FaultContext) -> None:
        super().__init__()
        self.fault = fault
        self.ctx = ctx
        self._held: list[Action] = []
        self._done = False
        self._changed = False

    def feed(self, action: Action) -> list[Action]:
        if self._done:
            return [action]
        self._held.append(action)
        if isinstance(action, Close | Reset):
            return self._apply()
        return []

    def end(self) -> list[Action]:
        return [] if self._done else self._apply()

    def _apply(self) -> list[Action]:
        self._done = True
        plan = Plan(actions=tuple(self._held))
        new, alterations = self.fault.apply(plan, self.ctx)
        self.alterations = list(alterations)
        self._changed = bool(alterations) or new != plan
        return list(new.actions)

    @property
    def changed(self) -> bool:
        return self._changed
