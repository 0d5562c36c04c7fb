"""Token limit: the answer stops at the output-token limit, with valid framing (F14, §6.3).

A model that runs out of output tokens does not fail: the API answers 200, the framing is
whole, and only the stop reason says the answer is cut — ``finish_reason: "length"`` (Chat
Completions), ``status: "incomplete"`` with ``incomplete_details.reason: "max_output_tokens"``
(Responses; a stream ends with ``response.incomplete``), ``stop_reason: "max_tokens"``
(Anthropic). Structured output is then JSON cut mid-object and a tool call's arguments are cut.
The SDKs raise nothing (only openai's ``.parse()`` helpers raise ``LengthFinishReasonError``), so
an application that does not read the stop reason returns half an answer as a whole one.

The cut falls in the answer's last part, where generation stopped: the last tool call's
arguments when the answer calls tools, else the last piece of answer text. ``keep`` is the
share of that part's characters that arrives. JSON (structured output, arguments) is cut right
after a structural character (``{ [ , : "``) near that share, so it no longer parses; prose is
cut at that character. An Anthropic *body* carries ``input`` as an object, which cannot be half
an object: it arrives with the members that were complete before the cut (a partial object,
as the API's own parser builds it). In a stream the text or arguments are re-spread over the
recorded deltas (later ones arrive empty), so event count and pacing stay as recorded.

Usage stays consistent: the output token count becomes ``max_tokens`` (default: the recorded
count scaled by ``keep``, at least 1), which is the limit that was hit.

An answer with nothing to cut (no text, no tool call, only an empty ``input`` object in an
Anthropic body), or an error response, is left unchanged and nothing is recorded.
Alterations: the cut part (``truncated``, original and kept text), then each stop reason,
status and usage field replaced.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from faultkit.faults.answer import MODULES, Answer
from faultkit.faults.base import Alteration, Applied, Fault, FaultContext
from faultkit.formats.common import (
    NOT_JSON,
    CallEdit,
    dumps,
    parse_json_text,
    read_json_body,
    replace_events,
    write_json_body,
)
from faultkit.formats.detect import WireFormat
from faultkit.formats.ending import end_body, end_stream, output_tokens
from faultkit.formats.jsontext import cut_points, structure
from faultkit.plan import Plan

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from faultkit.faults._search import Limits

_CLOSERS = {"{": "}", "[": "]"}


def cut_json(text: str, keep: float) -> str:
    """A proper prefix of JSON ``text`` ending right after a structural character, as near to
    ``keep`` of its length as there is one, that does not parse; ``"{"`` for empty JSON."""
    body, cuts = cut_points(text)
    if not cuts:
        return "{"
    target = len(body) * keep
    return body[: min(cuts, key=lambda p: (abs(p - target), p))]


def cut_text(text: str, keep: float) -> str:
    """``text`` cut at ``keep`` of its length: JSON (optionally fenced) with :func:`cut_json`,
    prose at that character (always shorter than ``text``)."""
    found = parse_json_text(text)
    if found is not None:
        start = len(found.prefix)
        inner = text[start : len(text) - len(found.suffix)] if found.suffix else text[start:]
        return text[:start] + cut_json(inner, keep)
    return text[: min(len(text) - 1, max(1, round(len(text) * keep)))]


def partial_object(prefix: str) -> dict[str, Any]:
    """The members of the JSON object that ``prefix`` starts, complete before it ends: the
    value a partial-JSON parser makes of cut arguments (``{"a": 1, "b": "x`` -> ``{"a": 1}``)."""
    for end in range(len(prefix), 0, -1):
        head = prefix[:end].rstrip().rstrip(",")
        closers = _closers(head)
        if closers is None:
            continue
        try:
            value = json.loads(head + closers)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return {}


def _closers(text: str) -> str | None:
    """The brackets that close ``text``; None when it ends inside a string or after a key."""
    brackets, in_string = structure(text, "{[]}")
    stack: list[str] = []
    for i in brackets:
        if text[i] in _CLOSERS:
            stack.append(_CLOSERS[text[i]])
        elif stack:
            stack.pop()
    if in_string or text.endswith(":"):
        return None
    return "".join(reversed(stack))


class TokenLimit(Fault):
    """Stop the answer at the output-token limit: its text, structured JSON or last tool
    call's arguments cut (``keep``: the share kept), and the stop said the provider's way
    (``finish_reason: "length"``, ``status: "incomplete"``, ``stop_reason: "max_tokens"``)."""

    type: Literal["token_limit"] = "token_limit"
    category = "meaning"
    search_order = 120
    keep: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="Share (0-1, exclusive) of the answer's last part, in characters, that "
        "arrives before the limit: its text, or its last tool call's arguments.",
    )
    max_tokens: int | None = Field(
        None,
        ge=1,
        description="Output tokens the usage reports (the limit hit). Default: the recorded "
        "output tokens scaled by keep, at least 1.",
    )

    formats: ClassVar[frozenset[WireFormat] | None] = frozenset(MODULES)

    @classmethod
    def strategy(cls, limits: Limits, route: str | None) -> SearchStrategy[Fault]:
        """Half of the answer's last part kept first (shrinks there), then less or more; the
        usage's token count left to the default (the recorded count scaled)."""
        from hypothesis import strategies as st

        return st.sampled_from((0.5, 0.1, 0.25, 0.75, 0.9)).map(lambda keep: cls(keep=keep))

    def describe(self) -> str:
        tokens = f" ({self.max_tokens} tokens)" if self.max_tokens is not None else ""
        kept = round(self.keep * 100)
        return f"answer stops at the token limit{tokens}, {kept}% of its last part kept"

    def apply(self, plan: Plan, ctx: FaultContext) -> Applied:
        head = plan.head
        if head is not None and head.status >= 400:
            return Applied(plan, [])
        answer = Answer.read(plan, ctx.format)
        if answer is None:
            return Applied(plan, [])
        cut = self._cut(answer, ctx.format)
        if cut is None:
            return Applied(plan, [])
        new, alteration, item = cut
        recorded = output_tokens(ctx.format, answer.doc, answer.events)
        tokens = self.max_tokens or (max(1, math.ceil(recorded * self.keep)) if recorded else None)
        if new.is_sse:
            events, changes = end_stream(new.events(), ctx.format, "length", tokens, item)
            new = replace_events(new, events)
        else:
            doc = read_json_body(new)
            if doc is NOT_JSON:
                return Applied(plan, [])
            ended, changes = end_body(doc, ctx.format, "length", tokens, item)
            new = write_json_body(new, ended)
        alterations = [alteration] + [
            Alteration(path=c.path, action="replaced", original=c.original, value=c.value)
            for c in changes
        ]
        return Applied(new, alterations)

    def _cut(self, answer: Answer, fmt: WireFormat) -> tuple[Plan, Alteration, int | None] | None:
        """The plan with the answer's last part cut, what was cut, and (Responses) the output
        item it is in."""
        calls = answer.tool_calls()
        call = calls[-1] if calls else None
        sent = cut_json(call.arguments, self.keep) if call is not None else ""
        if call is not None and _args_are_object(fmt, answer):
            sent = dumps(partial_object(sent))
        if call is not None and sent != call.arguments:  # an empty object has nothing to cut
            new = answer.edit_tool_call(call.key, CallEdit(arguments=sent))
            args = {WireFormat.anthropic_messages: "input", WireFormat.gemini: "args"}.get(
                fmt, "arguments"
            )
            path = f"{call.where}.{args}"
            item = call.key if fmt == WireFormat.openai_responses else None
            return (
                new,
                Alteration(path=path, action="truncated", original=call.arguments, value=sent),
                item,
            )
        texts = [t for t in answer.output_texts() if t.text]
        if not texts:
            return None
        slot = texts[-1]
        kept = cut_text(slot.text, self.keep)
        new = answer.set_output_text(slot.key, kept)
        item = slot.key[0] if fmt == WireFormat.openai_responses else None
        return (
            new,
            Alteration(path=slot.where, action="truncated", original=slot.text, value=kept),
            item,
        )


def _args_are_object(fmt: WireFormat, answer: Answer) -> bool:
    """Whether a tool call's arguments travel as a JSON object, which cannot be half an
    object: an Anthropic body's ``input`` (its stream sends text fragments) and Gemini's
    ``args`` (a function call arrives whole, in a body and in a stream chunk alike)."""
    if fmt == WireFormat.gemini:
        return True
    return fmt == WireFormat.anthropic_messages and answer.events is None
