"""What a provider answer tells the ledger about its cost and its next step: the token ``usage``
it reports and the names of the tools it asks for, from a JSON body or from a stream's events
as they pass.

Why here and not in a verdict: ``budget_exceeded`` adds up the tokens of every attempt and step
of one user request, ``runaway_loop`` counts the steps, and the tools map of a contract is
derived from which tool request followed which tool call. They read the ledger, so the facts
must be taken where the answer passes, once, for every door: the engine for the answers it
plans, and a live stream through :class:`AnswerReader`, event by event, without holding the
stream (a pass-through proxy must not buffer).

Where each provider reports usage (``../shared/reference/llm-wire-formats.md``):

- Chat Completions: ``usage.prompt_tokens`` / ``completion_tokens``, cached input in
  ``prompt_tokens_details.cached_tokens``; in a stream only with ``include_usage``, in a last
  chunk with ``choices: []`` (every other chunk has ``usage: null``);
- Responses: ``usage.input_tokens`` / ``output_tokens``, ``input_tokens_details.cached_tokens``;
  in a stream on the terminal event's ``response`` (``response.completed``, ``.incomplete``,
  ``.failed``);
- Anthropic Messages: ``usage.input_tokens`` / ``output_tokens``, with cache reads and writes
  counted *apart* from ``input_tokens`` (``cache_read_input_tokens``,
  ``cache_creation_input_tokens``); in a stream ``message_start``'s ``message.usage`` gives the
  input, ``message_delta``'s ``usage`` the output so far (cumulative, the last one wins);
- Gemini: ``usageMetadata.promptTokenCount`` / ``candidatesTokenCount``, with the reasoning
  billed as output apart (``thoughtsTokenCount``) and cached input in
  ``cachedContentTokenCount``; every stream chunk carries the running counts (the last wins).

:class:`TokenUsage` puts them in one shape: ``input_tokens`` is every input token the request
was billed for (Anthropic's cache reads and writes added, as OpenAI's prompt count already
includes its cached tokens), ``cached_tokens`` the part of it read from a cache.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from faultkit.formats import anthropic_messages, gemini, openai_chat, openai_responses
from faultkit.formats.sse import SSEEvent, SSEParser, parse_events


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Tokens one answer reported. ``total`` is what a token budget counts."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _detail(usage: dict[str, Any], holder: str, key: str) -> int | None:
    details = usage.get(holder)
    return _int(details.get(key)) if isinstance(details, dict) else None


def _read(fmt: str, usage: Any) -> dict[str, int]:
    """The counts one ``usage`` object gives, in :class:`TokenUsage`'s names (only those it
    has: a stream's first Anthropic event has no final output count)."""
    if not isinstance(usage, dict):
        return {}
    out: dict[str, int | None] = {}
    if fmt == "openai_chat":
        out["input_tokens"] = _int(usage.get("prompt_tokens"))
        out["output_tokens"] = _int(usage.get("completion_tokens"))
        out["cached_tokens"] = _detail(usage, "prompt_tokens_details", "cached_tokens")
    elif fmt == "openai_responses":
        out["input_tokens"] = _int(usage.get("input_tokens"))
        out["output_tokens"] = _int(usage.get("output_tokens"))
        out["cached_tokens"] = _detail(usage, "input_tokens_details", "cached_tokens")
    elif fmt == "anthropic_messages":
        read = _int(usage.get("cache_read_input_tokens"))
        written = _int(usage.get("cache_creation_input_tokens"))
        base = _int(usage.get("input_tokens"))
        if base is not None or read is not None or written is not None:
            out["input_tokens"] = (base or 0) + (read or 0) + (written or 0)
        out["output_tokens"] = _int(usage.get("output_tokens"))
        out["cached_tokens"] = read
    elif fmt == "gemini":
        out["input_tokens"] = _int(usage.get("promptTokenCount"))
        answer, thoughts = (
            _int(usage.get("candidatesTokenCount")),
            _int(usage.get("thoughtsTokenCount")),
        )
        if answer is not None or thoughts is not None:
            out["output_tokens"] = (answer or 0) + (thoughts or 0)
        out["cached_tokens"] = _int(usage.get("cachedContentTokenCount"))
    return {k: v for k, v in out.items() if v is not None}


# The provider modules that read tool calls, by format name.
_CALLS = {
    "openai_chat": openai_chat,
    "openai_responses": openai_responses,
    "anthropic_messages": anthropic_messages,
    "gemini": gemini,
}
USAGE_FORMATS = frozenset(_CALLS)


def _usages_in(fmt: str, payload: Any) -> list[Any]:
    """The usage objects an answer document or one stream event carries, in order."""
    if not isinstance(payload, dict):
        return []
    if fmt == "gemini":
        return [payload.get("usageMetadata")]
    found = [payload.get("usage")]
    if fmt == "openai_responses" and isinstance(payload.get("response"), dict):
        found.append(payload["response"].get("usage"))
    elif fmt == "anthropic_messages" and isinstance(payload.get("message"), dict):
        found.append(payload["message"].get("usage"))
    return found


@dataclass
class AnswerReader:
    """Reads an answer's usage and tool-call names as it passes: feed it the JSON body
    (:meth:`body`) or each stream event (:meth:`event`), then read :attr:`usage` and
    :meth:`tool_calls`. Events that cannot carry either are skipped by a byte test before
    any parsing, so a door can feed every event of a live stream at little cost."""

    fmt: str
    _counts: dict[str, int] = field(default_factory=dict)
    _call_events: list[SSEEvent] = field(default_factory=list)
    _doc: Any = None

    @property
    def reads(self) -> bool:
        """Whether ``fmt`` has anything to read (a provider format)."""
        return self.fmt in _CALLS

    def body(self, body: bytes) -> None:
        """A whole JSON answer; an SSE body (a recorded or buffered stream) is read event by
        event."""
        if not self.reads or not body:
            return
        if body.lstrip()[:1] not in (b"{", b"["):
            for event in parse_events(body):
                self.event(event)
            return
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return
        self._doc = doc
        for usage in _usages_in(self.fmt, doc):
            self._counts.update(_read(self.fmt, usage))

    def event(self, event: SSEEvent) -> None:
        data = event.data
        if not self.reads or not data:
            return
        if self.fmt == "gemini":
            has_usage = '"usageMetadata"' in data
        else:
            has_usage = '"usage"' in data and not _only_null_usage(data)
        if '"name"' in data and isinstance(event.json(), dict):
            # Only events that parse: a broken frame (a malformed_body fault) asks for nothing.
            self._call_events.append(event)
        if has_usage:
            for usage in _usages_in(self.fmt, event.json()):
                # Cumulative counts: a later event's value replaces an earlier one's.
                self._counts.update(_read(self.fmt, usage))

    @property
    def usage(self) -> TokenUsage | None:
        """None when the answer reported no usage (a Chat stream without ``include_usage``,
        a stream cut before its last event, an error body)."""
        if not self._counts:
            return None
        return TokenUsage(**self._counts)

    def tool_calls(self) -> list[str]:
        """The names of the tools the answer asks to call, in order ("" for a call without
        a name)."""
        module = _CALLS.get(self.fmt)
        if module is None:
            return []
        if self._doc is not None:
            calls = module.tool_calls(self._doc)
        elif self._call_events:
            calls = module.stream_tool_calls(self._call_events)
        else:
            return []
        return [c.name or "" for c in calls]


def _only_null_usage(data: str) -> bool:
    """A Chat chunk's ``"usage":null`` (every chunk but the last with ``include_usage``)."""
    start = data.find('"usage"')
    rest = data[start + 7 :].lstrip(" :")
    return rest.startswith("null") and data.find('"usage"', start + 7) < 0


def read_answer(fmt: str, body: bytes = b"", events: list[SSEEvent] | None = None) -> AnswerReader:
    """An :class:`AnswerReader` that has read a whole answer: ``events`` for a stream, else
    ``body``."""
    reader = AnswerReader(fmt)
    if events is not None:
        for event in events:
            reader.event(event)
    else:
        reader.body(body)
    return reader


# A JSON answer larger than this is not kept for its usage (a pass-through door must not hold
# an unbounded body); its usage is then unknown (None), never guessed.
MAX_ANSWER_BYTES = 8 * 1024 * 1024


class AnswerFeed:
    """An :class:`AnswerReader` fed the raw chunks of a live answer as a door passes them on
    (pass-through, record): a stream is parsed event by event as its blank lines arrive, a
    JSON body is kept (up to :data:`MAX_ANSWER_BYTES`) and read once it ended. Call
    :meth:`finish` at the end, then ``faultkit.engine.note_answer(entry, feed.finish())``."""

    def __init__(self, fmt: str, content_type: str | None) -> None:
        self.reader = AnswerReader(fmt)
        ctype = (content_type or "").split(";")[0].strip().lower()
        self._parser = SSEParser() if ctype == "text/event-stream" else None
        self._body: bytearray | None = None if self._parser is not None else bytearray()

    def feed(self, chunk: bytes) -> None:
        if self._parser is not None:
            for event in self._parser.feed(chunk):
                self.reader.event(event)
        elif self._body is not None:
            if len(self._body) + len(chunk) > MAX_ANSWER_BYTES:
                self._body = None
            else:
                self._body += chunk

    def finish(self) -> AnswerReader:
        """The reader, having read everything that arrived (a cut stream: what it had)."""
        if self._parser is not None:
            for event in self._parser.flush():
                self.reader.event(event)
            self._parser = None
        elif self._body is not None:
            self.reader.body(bytes(self._body))
            self._body = None
        return self.reader
