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

from faultkit.faults.base import Alteration, Fault, FaultContext, Transform
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

    def stream(self, ctx: FaultContext, whole: Plan | None = None) -> Transform | None:
        """Every kind acts on events as they pass. Only a target drawn from the seed needs the
        whole stream (the draw is among all its events); and "an index past the end means the
        last event" is known only from a whole plan: live, a stream that ends before
        ``at_event`` is not broken (the ledger says "nothing to alter")."""
        if whole is not None and not whole.is_sse:
            return Transform()  # no events: nothing to break
        if self.kind == "missing_terminator":
            return _DropTerminator(self, ctx.format)
        if whole is not None:
            target = self._target(whole.events(), ctx.rng)
        elif self.at_event is not None:
            target = self.at_event
        else:
            return None
        return _BreakEvent(self, target, ctx.rng, complete=whole is not None)

    # -- kinds ------------------------------------------------------------------------------
    def _ending(self, default: str) -> Action:
        end = self.end or default
        return Close() if end == "close" else Reset(reason=f"broken_sse {self.kind}")

    def _target(self, events: list[SSEEvent], rng: random.Random) -> int:
        if self.at_event is not None:
            return min(self.at_event, len(events) - 1)
        candidates = [i for i, e in enumerate(events) if e.json() is not None]
        return rng.choice(candidates or list(range(len(events))))

    def _replacement(self, event: SSEEvent, rng: random.Random) -> tuple[SSEEvent, Any]:
        """The event sent instead of ``event`` by ``invalid_data_line``, and its line."""
        if self.line is not None:
            return parse_event((self.line.rstrip("\r\n") + "\n\n").encode()), self.line
        data = _json_prefix(event.data or "", rng)
        return SSEEvent(event=event.event, id=event.id, data=data), data


class _BreakEvent(Transform):
    """``cut_mid_event`` and ``invalid_data_line``: event ``target`` is broken when it
    passes; with an ending, what follows is dropped (and counted while it still comes)."""

    def __init__(self, fault: BrokenSSE, target: int, rng: random.Random, complete: bool) -> None:
        super().__init__()
        self.fault = fault
        self.target = target
        self.rng = rng
        self.complete = complete  # fed a whole plan: what follows the cut is all known
        self.index = 0
        self.finished = False  # the stream was ended at the target
        self.ended = False  # the source's own ending was fed
        self.after = 0  # events dropped after the target

    def feed(self, action: Action) -> list[Action]:
        if self.finished:
            if isinstance(action, SendEvent):
                self.after += 1
            self.ended = self.ended or isinstance(action, Close | Reset)
            return []
        if not isinstance(action, SendEvent):
            return [action]
        index = self.index
        self.index += 1
        if index != self.target:
            return [action]
        fault = self.fault
        if fault.kind == "cut_mid_event":
            raw = action.event.encode()
            cut = _cut_inside_data(raw, self.rng)
            path = f"response.events[{index}]"
            self.alterations = [
                Alteration(path=path, action="truncated", original=len(raw), value=cut)
            ]
            self.finished = True
            return [SendBytes(data=raw[:cut]), fault._ending("reset")]
        replacement, value = fault._replacement(action.event, self.rng)
        self.alterations = [
            Alteration(
                path=f"response.events[{index}].data",
                action="replaced",
                original=action.event.data,
                value=value,
            )
        ]
        if fault.end is None:
            return [SendEvent(event=replacement)]
        self.finished = True
        return [SendEvent(event=replacement), fault._ending("close")]

    def end(self) -> list[Action]:
        if self.fault.kind == "cut_mid_event" and self.finished:
            known = self.complete or self.ended
            if not known or self.after:
                self.alterations.append(
                    Alteration(
                        path=f"response.events[{self.target + 1}:]",
                        action="removed",
                        original=self.after if known else None,
                        value=0,
                    )
                )
        return []


class _DropTerminator(Transform):
    """``missing_terminator``: each terminal event is held back with whatever follows it,
    until another terminal event arrives (then they pass) or the stream ends (then they are
    dropped and the stream ends cleanly): the last terminal event and all after it never go
    out. Live, only the terminal event waits, and a stream ends right after it anyway."""

    def __init__(self, fault: BrokenSSE, fmt: WireFormat) -> None:
        super().__init__()
        self.fault = fault
        self.fmt = fmt
        self.index = 0
        self.held: list[Action] | None = None
        self.held_at = 0
        self.held_events: list[SSEEvent] = []
        self.done = False

    def feed(self, action: Action) -> list[Action]:
        if self.done:
            return []
        if isinstance(action, SendEvent):
            index = self.index
            self.index += 1
            if is_terminal(action.event, self.fmt):
                out, self.held = self.held or [], [action]
                self.held_at, self.held_events = index, [action.event]
                return out
            if self.held is not None:
                self.held.append(action)
                self.held_events.append(action.event)
                return []
            return [action]
        if isinstance(action, Close | Reset):
            return self._drop() if self.held is not None else [action]
        if self.held is not None:
            self.held.append(action)
            return []
        return [action]

    def end(self) -> list[Action]:
        return self._drop() if self.held is not None and not self.done else []

    def _drop(self) -> list[Action]:
        self.done = True
        self.held = None
        dropped = [e.data for e in self.held_events]
        self.alterations = [
            Alteration(
                path=f"response.events[{self.held_at}:]",
                action="removed",
                original=dropped,
                value=None,
            )
        ]
        return [self.fault._ending("close")]


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
