"""Broken SSE framing: a stream that stops mid-event, never sends its terminator, or carries a
line that is not JSON.

- ``cut_mid_event``: the events before ``at_event`` arrive, then the first part of that event,
  cut inside its JSON, then the connection ends. Reset by default: the "incomplete chunked read"
  of §6.2 of the wire-format reference; the SDKs raise from the iterator and never retry. With
  ``end: close`` the client's SSE parser silently discards the unterminated event at EOF, so
  the stream just ends early, without an error.
- ``missing_terminator``: the stream ends cleanly just before its terminal marker (``data:
  [DONE]`` for Chat Completions, ``message_stop`` for Anthropic, ``response.completed`` /
  ``incomplete`` / ``failed`` for Responses, the chunk with a ``finishReason`` for Gemini, the
  JSON-RPC response for MCP), dropping it and
  anything after. Raw SDK iteration ends *without an error*: the partial answer looks complete
  unless the application checks for the terminator.
- ``invalid_data_line``: event ``at_event`` carries a ``data:`` line that is not JSON (its own
  JSON cut after a structural character, e.g. ``data: {"choices": [``), or the exact ``line``
  given, such as the meta-only ``retry: 3000`` of §6.11. The rest of the stream follows as
  recorded, unless ``end`` is given: then the stream ends right after the broken event.

``at_event`` defaults to an event drawn with the seeded RNG among those carrying JSON data; an
index past the end means the last event. A plan without events is returned unchanged.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from faultkit.faults.base import Alteration, Applied, Fault, FaultContext
from faultkit.formats.detect import WireFormat
from faultkit.formats.jsontext import structure
from faultkit.formats.sse import SSEEvent, parse_event
from faultkit.plan import Action, Close, Plan, Reset, SendBytes, SendEvent

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from faultkit.faults._search import Limits

RESPONSES_TERMINALS = frozenset({"response.completed", "response.incomplete", "response.failed"})


class BrokenSSE(Fault):
    """Break an SSE stream's framing: cut an event, drop the terminator, or inject a bad line."""

    type: Literal["broken_sse"] = "broken_sse"
    category = "failure"
    search_order = 80
    formats = frozenset(
        {
            WireFormat.openai_chat,
            WireFormat.openai_responses,
            WireFormat.anthropic_messages,
            WireFormat.gemini,
            WireFormat.mcp,
        }
    )
    kind: Literal["cut_mid_event", "missing_terminator", "invalid_data_line"]
    at_event: int | None = Field(
        None, ge=0, description="Index of the event to break (default: drawn from the seed)."
    )
    end: Literal["close", "reset"] | None = Field(
        None, description="How the stream ends (default: reset for cut_mid_event, else close)."
    )
    line: str | None = Field(
        None,
        min_length=1,
        description="invalid_data_line: the exact text sent instead of the event, "
        "e.g. 'retry: 3000' or 'data:'.",
    )

    @classmethod
    def strategy(cls, limits: Limits, route: str | None) -> SearchStrategy[Fault]:
        """SSE framing broken: an event cut inside its JSON, a missing terminator, a bad line."""
        from hypothesis import strategies as st

        from faultkit.faults._search import event_index, optional

        at = optional(event_index(limits.max_event))
        cut = st.builds(
            lambda at_event, end: cls(kind="cut_mid_event", at_event=at_event, end=end),
            at,
            st.sampled_from((None, "close", "reset")),
        )
        terminator = st.sampled_from((None, "reset")).map(
            lambda end: cls(kind="missing_terminator", end=end)
        )
        bad_line = st.builds(
            lambda at_event, line, end: cls(
                kind="invalid_data_line", at_event=at_event, line=line, end=end
            ),
            at,
            st.sampled_from((None, "data:", "retry: 3000")),
            st.sampled_from((None, "close")),
        )
        return st.one_of(cut, terminator, bad_line)

    def describe(self) -> str:
        at = f"event {self.at_event}" if self.at_event is not None else "an event"
        if self.kind == "cut_mid_event":
            end = "closes" if self.end == "close" else "resets"
            return f"stream cut inside {at}'s JSON, then {end}"
        if self.kind == "missing_terminator":
            return "stream ends without its terminator" + (
                " (reset)" if self.end == "reset" else ""
            )
        line = f" {self.line!r}" if self.line else " that is not JSON"
        end = ", then ends" if self.end else ""
        return f"{at} carries a data line{line}{end}"

    def apply(self, plan: Plan, ctx: FaultContext) -> Applied:
        events = plan.events()
        if not events:
            return Applied(plan, [])
        if self.kind == "missing_terminator":
            return self._drop_terminator(plan, events, ctx.format)
        target = self._target(events, ctx.rng)
        if self.kind == "cut_mid_event":
            return self._cut(plan, events, target, ctx.rng)
        return self._invalid_line(plan, events, target, ctx.rng)

    # -- kinds ------------------------------------------------------------------------------
    def _ending(self, default: str) -> Action:
        end = self.end or default
        return Close() if end == "close" else Reset(reason=f"broken_sse {self.kind}")

    def _target(self, events: list[SSEEvent], rng: random.Random) -> int:
        if self.at_event is not None:
            return min(self.at_event, len(events) - 1)
        candidates = [i for i, e in enumerate(events) if e.json() is not None]
        return rng.choice(candidates or list(range(len(events))))

    def _drop_terminator(self, plan: Plan, events: list[SSEEvent], fmt: WireFormat) -> Applied:
        index = next((i for i in reversed(range(len(events))) if is_terminal(events[i], fmt)), None)
        if index is None:
            return Applied(plan, [])
        kept = _before_event(plan, index)
        dropped = [e.data for e in events[index:]]
        alteration = Alteration(
            path=f"response.events[{index}:]", action="removed", original=dropped, value=None
        )
        return Applied(plan.replace([*kept, self._ending("close")]), [alteration])

    def _cut(self, plan: Plan, events: list[SSEEvent], target: int, rng: random.Random) -> Applied:
        raw = events[target].encode()
        cut = _cut_inside_data(raw, rng)
        actions = [*_before_event(plan, target), SendBytes(data=raw[:cut]), self._ending("reset")]
        alterations = [
            Alteration(
                path=f"response.events[{target}]", action="truncated", original=len(raw), value=cut
            )
        ]
        if target + 1 < len(events):
            alterations.append(
                Alteration(
                    path=f"response.events[{target + 1}:]",
                    action="removed",
                    original=len(events) - target - 1,
                    value=0,
                )
            )
        return Applied(plan.replace(actions), alterations)

    def _invalid_line(
        self, plan: Plan, events: list[SSEEvent], target: int, rng: random.Random
    ) -> Applied:
        event = events[target]
        if self.line is not None:
            replacement = parse_event((self.line.rstrip("\r\n") + "\n\n").encode())
            value: Any = self.line
        else:
            data = _json_prefix(event.data or "", rng)
            replacement = SSEEvent(event=event.event, id=event.id, data=data)
            value = data
        alteration = Alteration(
            path=f"response.events[{target}].data",
            action="replaced",
            original=event.data,
            value=value,
        )
        if self.end is None:
            new = plan.map_events(lambda i, e: replacement if i == target else e)
        else:
            actions = [*_before_event(plan, target), SendEvent(event=replacement)]
            new = plan.replace([*actions, self._ending("close")])
        return Applied(new, [alteration])


# -- helpers --------------------------------------------------------------------------------
def is_terminal(event: SSEEvent, fmt: WireFormat) -> bool:
    """Whether ``event`` is the marker that tells a client of ``fmt`` the stream is complete."""
    payload = event.json()
    kind = payload.get("type") if isinstance(payload, dict) else None
    if fmt == WireFormat.openai_chat:
        return event.is_done_sentinel
    if fmt == WireFormat.anthropic_messages:
        return "message_stop" in (event.event, kind)
    if fmt == WireFormat.openai_responses:
        return event.event in RESPONSES_TERMINALS or kind in RESPONSES_TERMINALS
    if fmt == WireFormat.gemini:  # no sentinel: the chunk that gives a finish reason
        candidates = payload.get("candidates") if isinstance(payload, dict) else None
        return isinstance(candidates, list) and any(
            isinstance(c, dict) and c.get("finishReason") for c in candidates
        )
    if fmt == WireFormat.mcp:
        return (
            isinstance(payload, dict)
            and "id" in payload
            and ("result" in payload or "error" in payload)
        )
    return False


def _before_event(plan: Plan, index: int) -> list[Action]:
    """The plan's actions before event ``index`` (the head, earlier events and their gaps,
    and the recorded gap before that event), without the plan's ending."""
    out: list[Action] = []
    seen = 0
    for action in plan.actions:
        if isinstance(action, SendEvent):
            if seen == index:
                break
            seen += 1
        if isinstance(action, Close | Reset):
            break
        out.append(action)
    return out


def _cut_inside_data(raw: bytes, rng: random.Random) -> int:
    """A byte offset strictly inside the first ``data:`` value of an encoded event."""
    at = raw.find(b"data:")
    if at < 0:
        return max(1, len(raw) // 2)
    start = at + 5 + (raw[at + 5 : at + 6] == b" ")
    eol = len(raw)
    for sep in (b"\r", b"\n"):
        found = raw.find(sep, start)
        if found >= 0:
            eol = min(eol, found)
    if eol - start < 2:
        return start
    return rng.randint(start + 1, eol - 1)


def _json_prefix(data: str, rng: random.Random) -> str:
    """``data`` cut just after one of its structural ``{ [ , :`` (outside strings), so the line
    reads like a JSON document that stopped mid-way: ``{"choices": [``."""
    positions = [i for i in structure(data, "{[,:")[0] if i + 1 < len(data)]
    if not positions:
        return "{"
    return data[: rng.choice(positions) + 1]
