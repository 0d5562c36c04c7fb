"""Duplicate SSE event: one event of a provider's stream arrives more than once.

A proxy or load balancer that retries a write, a reconnect that resumes from an old
``Last-Event-ID``, or a buggy gateway can repeat an event. Every event of a provider stream
is a delta, and the clients append deltas as they come (the SDKs' own accumulators do): a
repeated event repeats a piece of the answer text ("Your order order ships Monday") or of a
tool call's arguments, and the stream itself says nothing (Chat Completions and Gemini deltas
carry no sequence number; Responses events carry ``sequence_number`` and Anthropic blocks an
``index``, which a careful client could check).

``at_event`` picks the event, counting from 0; by default it is the first event whose
repetition changes the answer as the provider's own format module reassembles it (its text or
its tool calls), so the duplicate is one a naive client shows. ``times`` is how often the event
is sent in all (2: once more); the copies follow the original at once. The fault works on a
live stream as the events pass (nothing is held back) and on a recording alike.

Evidence for the oracle: one alteration at ``response.events[i]`` (``added``). Its ``value``
is the repeated words as a client that appends deltas shows them (whole words around the
repeat, absent from the recording; in the answer text, else in a tool call's arguments) and
``original`` the recorded words there; the fault declares ``leaks_values``, so an answer that
carries those repeated words is ``invalid_output_leaked``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from faultkit.faults._stream_text import changed_texts, first_difference, reading, words_around
from faultkit.faults.answer import MODULES
from faultkit.faults.base import Alteration, Fault, FaultContext, Transform
from faultkit.formats.sse import SSEEvent
from faultkit.plan import Action, Plan, SendEvent

if TYPE_CHECKING:
    from types import ModuleType

    from hypothesis.strategies import SearchStrategy

    from faultkit.faults._search import Limits

# The default event is looked for among the first this many: each look reassembles the answer
# so far, and a stream whose first 200 events change nothing carries no answer to repeat.
_SEARCH_EVENTS = 200


class DuplicateSSEEvent(Fault):
    """Send one event of a provider stream more than once, as a retrying gateway would."""

    type: Literal["duplicate_sse_event"] = "duplicate_sse_event"
    category = "meaning"
    search_order = 140
    leaks_values = True
    formats = frozenset(MODULES)
    at_event: int | None = Field(
        None,
        ge=0,
        description="Index of the event sent again, from 0 (default: the first event whose "
        "repetition changes the answer).",
    )
    times: int = Field(2, ge=2, le=100, description="How often the event is sent in all.")

    @classmethod
    def strategy(cls, limits: Limits, route: str | None) -> SearchStrategy[Fault]:
        """The first answer-changing event sent twice first (shrinks there), then a given
        event, then more copies."""
        from hypothesis import strategies as st

        from faultkit.faults._search import event_index, optional

        return st.builds(
            lambda at, times: cls(at_event=at, times=times),
            optional(event_index(limits.max_event)),
            st.integers(2, 3),
        )

    def describe(self) -> str:
        which = f"event {self.at_event}" if self.at_event is not None else "the first answer event"
        count = "twice" if self.times == 2 else f"{self.times} times"
        return f"stream sends {which} {count}"

    def stream(self, ctx: FaultContext, whole: Plan | None = None) -> Transform:
        return _Repeat(self, MODULES.get(ctx.format))


class _Repeat(Transform):
    """Passes every action on; the chosen event is followed by its copies. Keeps the events
    seen (not the actions: nothing is delayed) to choose the event and word the evidence."""

    def __init__(self, fault: DuplicateSSEEvent, module: ModuleType | None) -> None:
        super().__init__()
        self.fault = fault
        self.module = module
        self.seen: list[SSEEvent] = []
        self.index: int | None = None

    def feed(self, action: Action) -> list[Action]:
        if not isinstance(action, SendEvent):
            return [action]
        self.seen.append(action.event)
        if self.index is not None or not self._chosen(len(self.seen) - 1):
            return [action]
        self.index = len(self.seen) - 1
        self.alterations = [Alteration(path=f"response.events[{self.index}]", action="added")]
        return [action] * self.fault.times

    def _chosen(self, i: int) -> bool:
        if self.fault.at_event is not None:
            return i == self.fault.at_event
        event = self.seen[i]
        if i >= _SEARCH_EVENTS or event.json() is None:
            return False
        return reading(self.module, self.seen) != reading(self.module, [*self.seen, event])

    def end(self) -> list[Action]:
        if self.index is None or self.module is None:
            return []
        copies = [self.seen[self.index]] * (self.fault.times - 1)
        doubled = [*self.seen[: self.index + 1], *copies, *self.seen[self.index + 1 :]]
        for recorded, shown in changed_texts(self.module, self.seen, doubled):
            words = repeated_words(recorded, shown, copies=self.fault.times - 1)
            if words is not None:
                path = f"response.events[{self.index}]"
                self.alterations = [
                    Alteration(path=path, action="added", original=words[0], value=words[1])
                ]
                break
        return []


def repeated_words(recorded: str, shown: str, copies: int = 1) -> tuple[str, str] | None:
    """(recorded words, shown words) around the first place ``shown`` differs from
    ``recorded``, where ``shown`` is ``recorded`` with a piece repeated ``copies`` more times:
    whole words, widened until the shown words do not occur in the recorded text. None when
    the texts are equal or no such window exists (the repeat reads like the recording)."""
    if shown == recorded or len(shown) <= len(recorded):
        return None
    start = first_difference(recorded, shown)
    extra = len(shown) - len(recorded)
    return words_around(recorded, shown, max(0, start - extra // copies), start + extra, extra)
