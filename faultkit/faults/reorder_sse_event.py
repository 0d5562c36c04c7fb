"""Reordered SSE event: one event of a provider's stream arrives after events sent behind it.

A gateway that spreads a stream over several upstream connections, a client library that
merges a resumed stream, or a provider-side bug can deliver an event late. Chat Completions and
Gemini deltas carry no sequence number, so a client that appends deltas as they come shows the
answer's words out of order ("Your ships order on Monday") and nothing in the stream says so;
Responses events carry ``sequence_number`` and Anthropic's an ``index``, which a careful client
can check.

``at_event`` picks the late event, counting from 0; by default it is the first event that adds
to an answer text or a tool call's arguments already begun, so the move scrambles words rather
than the stream's framing. ``by`` is how many events overtake it. The event never goes out
after the stream's terminal marker (a client stops reading there: it would be lost, which is a
cut, not a reorder); it is sent just before the marker at the latest. On a live stream only the
late event waits, for the events that overtake it; they pass as they arrive.

Evidence for the oracle: one alteration at ``response.events[i]``. When the words a client
shows changed, it is ``replaced``: ``value`` the shown words around the change (whole words,
absent from the recording), ``original`` the recorded words; the fault declares
``leaks_values``, so an answer that carries the scrambled words is ``invalid_output_leaked``.
When they did not (the overtaking events carried no text), it is ``moved``, with the event's
recorded and sent positions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from faultkit.faults._stream_text import changed_texts, first_difference, reading, words_around
from faultkit.faults.answer import MODULES
from faultkit.faults.base import Alteration, Fault, FaultContext, Transform
from faultkit.faults.broken_sse import is_terminal
from faultkit.formats.detect import WireFormat
from faultkit.formats.sse import SSEEvent
from faultkit.plan import Action, Close, Plan, Reset, SendEvent

if TYPE_CHECKING:
    from types import ModuleType

    from hypothesis.strategies import SearchStrategy

    from faultkit.faults._search import Limits

# The default event is looked for among the first this many (each look reassembles the answer
# so far).
_SEARCH_EVENTS = 200


class ReorderSSEEvent(Fault):
    """Deliver one event of a provider stream late, after the events behind it."""

    type: Literal["reorder_sse_event"] = "reorder_sse_event"
    category = "meaning"
    search_order = 145
    leaks_values = True
    formats = frozenset(MODULES)
    at_event: int | None = Field(
        None,
        ge=0,
        description="Index of the late event, from 0 (default: the first event that adds to "
        "an answer text or tool call already begun).",
    )
    by: int = Field(1, ge=1, le=100, description="How many events overtake it.")

    @classmethod
    def strategy(cls, limits: Limits, route: str | None) -> SearchStrategy[Fault]:
        """The first answer event overtaken by one first (shrinks there), then a given event,
        then by more."""
        from hypothesis import strategies as st

        from faultkit.faults._search import event_index, optional

        return st.builds(
            lambda at, by: cls(at_event=at, by=by),
            optional(event_index(limits.max_event)),
            st.integers(1, 3),
        )

    def describe(self) -> str:
        which = f"event {self.at_event}" if self.at_event is not None else "the first answer event"
        after = "the next event" if self.by == 1 else f"the next {self.by} events"
        return f"stream sends {which} after {after}"

    def stream(self, ctx: FaultContext, whole: Plan | None = None) -> Transform:
        return _Late(self, ctx.format, MODULES.get(ctx.format))


class _Late(Transform):
    """Holds the chosen event until ``by`` events passed it (or a terminal event, the stream's
    end or a cut comes), passing everything else at once. Keeps the events in recorded and in
    sent order, to choose the event and word the evidence."""

    def __init__(self, fault: ReorderSSEEvent, fmt: WireFormat, module: ModuleType | None) -> None:
        super().__init__()
        self.fault = fault
        self.fmt = fmt
        self.module = module
        self.recorded: list[SSEEvent] = []
        self.shown: list[SSEEvent] = []
        self.held: SendEvent | None = None
        self.index: int | None = None  # the late event's recorded position
        self.sent_at: int | None = None  # and its position as sent
        self.overtaken = 0

    def feed(self, action: Action) -> list[Action]:
        held = self.held
        if held is None:
            if not isinstance(action, SendEvent):
                return [action]
            self.recorded.append(action.event)
            if self.index is None and self._chosen(len(self.recorded) - 1, action.event):
                self.index = len(self.recorded) - 1
                self.held = action
                return []
            self.shown.append(action.event)
            return [action]
        if isinstance(action, SendEvent):
            self.recorded.append(action.event)
            if not is_terminal(action.event, self.fmt):
                self.shown.append(action.event)
                self.overtaken += 1
                return [action, *self._release()] if self.overtaken >= self.fault.by else [action]
            released = self._release()  # never after the terminal marker
            self.shown.append(action.event)
            return [*released, action]
        if isinstance(action, Close | Reset):
            return [*self._release(), action]
        return [action]  # a wait between events: the late event keeps waiting

    def _chosen(self, i: int, event: SSEEvent) -> bool:
        if is_terminal(event, self.fmt):
            return False
        if self.fault.at_event is not None:
            return i == self.fault.at_event
        if i >= _SEARCH_EVENTS or event.json() is None or self.module is None:
            return False
        before = self.recorded[:i]
        texts, calls = reading(self.module, before)
        after_texts, after_calls = reading(self.module, [*before, event])
        begun = {s.key for s in texts} | {c.key for c in calls}
        added = {s.key for s in after_texts} | {c.key for c in after_calls}
        return (texts, calls) != (after_texts, after_calls) and added == begun

    def _release(self) -> list[Action]:
        held, self.held = self.held, None
        if held is None:
            return []
        self.sent_at = len(self.shown)
        self.shown.append(held.event)
        self.alterations = [self._moved()]
        return [held]

    def _moved(self) -> Alteration:
        return Alteration(
            path=f"response.events[{self.index}]",
            action="moved",
            original=self.index,
            value=self.sent_at,
        )

    def end(self) -> list[Action]:
        released = self._release()
        if self.index is None:
            return released
        if self.sent_at == self.index:
            self.alterations = []  # nothing overtook it: the stream is as recorded
            return released
        if self.module is None:
            return released  # no reading of the format: the move itself is the evidence
        for recorded, shown in changed_texts(self.module, self.recorded, self.shown):
            words = moved_words(recorded, shown)
            if words is not None:
                path = f"response.events[{self.index}]"
                self.alterations = [
                    Alteration(path=path, action="replaced", original=words[0], value=words[1])
                ]
                break
        return released


def moved_words(recorded: str, shown: str) -> tuple[str, str] | None:
    """(recorded words, shown words) where ``shown``, the same pieces as ``recorded`` in
    another order, differs from it: whole words covering the change, widened until the shown
    words do not occur in the recorded text. None when the texts are equal or no such window
    exists."""
    if shown == recorded or len(shown) != len(recorded):
        return None
    start = first_difference(recorded, shown)
    end = len(shown) - first_difference(recorded[::-1], shown[::-1])
    return words_around(recorded, shown, start, end, 0)
