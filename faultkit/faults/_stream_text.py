"""What a client that appends a stream's deltas shows, for the stream faults that change the
events' sequence (a repeated event, a late one): the texts and tool-call arguments it builds,
and the whole words around a change, to use as the oracle's evidence.

Kept apart from the faults (a leading underscore: not a fault module) so each fault keeps to its
own module and the reassembly rule stays the provider's format module's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from faultkit.formats.sse import SSEEvent

if TYPE_CHECKING:
    from types import ModuleType

# Words either side of a change that the evidence may take, to be absent from the recording.
MAX_CONTEXT_WORDS = 4


def reading(module: ModuleType | None, events: list[SSEEvent]) -> Any:
    """The answer a client that appends deltas builds from ``events``: texts and tool calls."""
    if module is None:
        return [e.data for e in events]
    return module.stream_output_texts(events), module.stream_tool_calls(events)


def changed_texts(
    module: ModuleType, recorded: list[SSEEvent], shown: list[SSEEvent]
) -> list[tuple[str, str]]:
    """(recorded, shown) for each answer text, then each tool call's arguments, that differ."""
    texts = {s.key: s.text for s in module.stream_output_texts(recorded)}
    calls = {c.key: c.arguments for c in module.stream_tool_calls(recorded)}
    out = [
        (texts.get(s.key, ""), s.text)
        for s in module.stream_output_texts(shown)
        if texts.get(s.key, "") != s.text
    ]
    out += [
        (calls.get(c.key, ""), c.arguments)
        for c in module.stream_tool_calls(shown)
        if calls.get(c.key, "") != c.arguments
    ]
    return out


def words_around(
    recorded: str, shown: str, left: int, right: int, extra: int
) -> tuple[str, str] | None:
    """(recorded words, shown words) around ``shown[left:right]``, the span that differs
    (``extra``: how much longer ``shown`` is): whole words, widened until the shown words do
    not occur in the recorded text. None when no such window exists."""
    for _ in range(MAX_CONTEXT_WORDS + 1):
        left, right = word_start(shown, left), word_end(shown, right)
        window = shown[left:right].strip()
        if window and window.lower() not in recorded.lower():
            return recorded[left : right - extra].strip(), window
        left, right = max(0, left - 1), min(len(shown), right + 1)
    return None


def first_difference(a: str, b: str) -> int:
    """The first index where ``a`` and ``b`` differ (the shorter's length if one is a prefix)."""
    pairs = enumerate(zip(a, b, strict=False))
    return next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))


def word_start(text: str, i: int) -> int:
    if i < len(text) and text[i].isspace():
        return i  # already just before a word
    while i > 0 and not text[i - 1].isspace():
        i -= 1
    return i


def word_end(text: str, i: int) -> int:
    if 0 < i <= len(text) and text[i - 1].isspace():
        return i  # already just past a word
    while i < len(text) and not text[i].isspace():
        i += 1
    return i
