"""Refusal: the model declines, or answers with nothing at all (F16, §6.5).

A refusal is a 200 with valid framing and no answer in it, so nothing raises; only the field a
refusal lives in says what happened. ``kind``:

- ``refusal`` (default): the model declines with ``text``. Chat Completions: ``message.content``
  null and ``message.refusal`` set (in a stream, ``delta.refusal``), ``finish_reason: "stop"``,
  as OpenAI answers with structured outputs. Responses: the message's one content part is
  ``{"type": "refusal", "refusal": text}`` (streamed as ``response.refusal.delta`` /
  ``.done``). Anthropic: ``stop_reason: "refusal"`` with no content (the API adds no refusal
  message of its own).
- ``content_filter``: the output is withheld by the provider's filter: empty content with
  ``finish_reason: "content_filter"`` (Chat), ``status: "incomplete"`` with
  ``incomplete_details.reason: "content_filter"`` (Responses; the stream ends with
  ``response.incomplete``), ``stop_reason: "refusal"`` (Anthropic, which has no filter reason
  of its own).
- ``empty_answer``: empty content and no tool call, ending normally (``stop`` / ``end_turn`` /
  ``completed``), as gateways and some models answer (Gemini's empty STOP, §6.5).

Every tool call in the answer is removed: a model that declines calls no tool. Usage is kept as
recorded. Streams keep their head, their first and last envelope events and their pacing;
the answer's own events are replaced by the refusal's. An error response, or a body that is not
a provider answer, is left unchanged and nothing is recorded.

Alterations: the answer (``replaced``: the recorded text and tool-call names, then the refusal
text or ``""``), then each stop reason and status replaced. The oracle reads the first one as
the evidence of ``invalid_output_leaked`` when the SUT passes the refusal on as an answer.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from faultkit.faults.answer import MODULES, Answer
from faultkit.faults.base import Alteration, Applied, Fault, FaultContext
from faultkit.formats.common import event_kind, event_payloads, with_events, write_json_body
from faultkit.formats.detect import WireFormat
from faultkit.formats.ending import Reason, end_body, end_stream
from faultkit.formats.openai_responses import with_output
from faultkit.formats.sse import SSEEvent
from faultkit.plan import Plan

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from faultkit.faults._search import Limits

DEFAULT_TEXT = "I'm sorry, but I can't help with that request."
_REASONS: dict[str, Reason] = {
    "refusal": "refusal",
    "content_filter": "content_filter",
    "empty_answer": "stop",
}
_ANTHROPIC_BLOCK_EVENTS = ("content_block_start", "content_block_delta", "content_block_stop")
# Where the answer is, for the alteration that records what it was and what it became.
_ANSWER_PATHS = {
    WireFormat.openai_chat: "choices[0].message.content",
    WireFormat.openai_responses: "output",
    WireFormat.anthropic_messages: "content",
    WireFormat.gemini: "candidates[0].content",
}


class Refusal(Fault):
    """The model declines (``refusal``), is filtered (``content_filter``) or says nothing
    (``empty_answer``), the provider's way (``message.refusal``, a Responses refusal part,
    ``stop_reason: "refusal"``); tool calls removed."""

    type: Literal["refusal"] = "refusal"
    category = "meaning"
    search_order = 130
    kind: Literal["refusal", "content_filter", "empty_answer"] = Field(
        "refusal", description="How the model declines."
    )
    text: str = Field(
        DEFAULT_TEXT, min_length=1, description="For kind refusal: what the model says."
    )

    formats: ClassVar[frozenset[WireFormat] | None] = frozenset(MODULES)

    @classmethod
    def strategy(cls, limits: Limits, route: str | None) -> SearchStrategy[Fault]:
        """A refusal first, then the content filter, then an empty answer."""
        from hypothesis import strategies as st

        return st.sampled_from(("refusal", "content_filter", "empty_answer")).map(
            lambda kind: cls(kind=kind)
        )

    def describe(self) -> str:
        if self.kind == "content_filter":
            return "answer withheld by the content filter"
        if self.kind == "empty_answer":
            return "empty answer, no tool call"
        return f"model refuses: {self.text!r}"

    @property
    def said(self) -> str:
        """The answer text the client receives: the refusal, or nothing."""
        return self.text if self.kind == "refusal" else ""

    def apply(self, plan: Plan, ctx: FaultContext) -> Applied:
        head = plan.head
        if head is not None and head.status >= 400:
            return Applied(plan, [])
        answer = Answer.read(plan, ctx.format)
        if answer is None or not _is_answer(answer, ctx.format):
            return Applied(plan, [])
        original: dict[str, Any] = {
            "text": "".join(t.text for t in answer.output_texts()),
            "tool_calls": [c.name for c in answer.tool_calls()],
        }
        reason = _REASONS[self.kind]
        if answer.events is not None:
            events, item = _STREAMS[ctx.format](answer.events, self)
            events, changes = end_stream(events, ctx.format, reason, None, item)
            new = with_events(plan, events)
        else:
            doc, item = _BODIES[ctx.format](answer.doc, self)
            doc, changes = end_body(doc, ctx.format, reason, None, item)
            new = write_json_body(plan, doc)
        path = _ANSWER_PATHS[ctx.format]
        if ctx.format == WireFormat.openai_chat and self.kind == "refusal":
            path = "choices[0].message.refusal"
        alterations = [Alteration(path=path, action="replaced", original=original, value=self.said)]
        alterations += [
            Alteration(path=c.path, action="replaced", original=c.original, value=c.value)
            for c in changes
        ]
        return Applied(new, alterations)


def _is_answer(answer: Answer, fmt: WireFormat) -> bool:
    """The body or stream is a provider's answer (not an error envelope, not a stray JSON)."""
    if answer.events is not None:
        return bool(answer.events)
    doc = answer.doc
    if not isinstance(doc, dict):
        return False
    key = {
        WireFormat.openai_chat: "choices",
        WireFormat.openai_responses: "output",
        WireFormat.anthropic_messages: "content",
        WireFormat.gemini: "candidates",
    }[fmt]
    return isinstance(doc.get(key), list)


# -- Chat Completions -----------------------------------------------------------------------------
def _chat_body(doc: Any, fault: Refusal) -> tuple[Any, int | None]:
    new = copy.deepcopy(doc)
    for choice in new.get("choices") or []:
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            continue
        message.pop("tool_calls", None)
        message.pop("function_call", None)
        message["content"] = None if fault.kind == "refusal" else ""
        message["refusal"] = fault.text if fault.kind == "refusal" else None
    return new, None


def _chat_stream(events: list[SSEEvent], fault: Refusal) -> tuple[list[SSEEvent], int | None]:
    payloads = event_payloads(events)
    out: list[SSEEvent] = []
    told = False
    for event, payload in zip(events, payloads, strict=True):
        choices = payload.get("choices") if isinstance(payload, dict) else None
        if not isinstance(choices, list) or not choices:
            out.append(event)
            continue
        for choice in choices:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if not isinstance(delta, dict):
                continue
            delta.pop("tool_calls", None)
            delta.pop("function_call", None)
            if "content" in delta:
                delta["content"] = None if fault.kind == "refusal" else ""
            if fault.kind == "refusal" and not told:
                delta["refusal"] = fault.text  # once, in the first delta, as OpenAI streams it
                told = True
            elif "refusal" in delta:
                delta["refusal"] = None
        out.append(event.with_json(payload))
    return out, None


# -- Anthropic Messages ---------------------------------------------------------------------------
def _anthropic_body(doc: Any, fault: Refusal) -> tuple[Any, int | None]:
    new = copy.deepcopy(doc)
    new["content"] = []
    return new, None


def _anthropic_stream(events: list[SSEEvent], fault: Refusal) -> tuple[list[SSEEvent], int | None]:
    payloads = event_payloads(events)
    kept = [
        e
        for e, p in zip(events, payloads, strict=True)
        if event_kind(p, e) not in _ANTHROPIC_BLOCK_EVENTS
    ]
    return kept, None


# -- Responses ------------------------------------------------------------------------------------
def _message_item(item_id: str, fault: Refusal, status: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [] if status == "in_progress" else [_part(fault)],
    }


def _part(fault: Refusal) -> dict[str, Any]:
    if fault.kind == "refusal":
        return {"type": "refusal", "refusal": fault.text}
    return {"type": "output_text", "text": "", "annotations": []}


def _responses_body(doc: Any, fault: Refusal) -> tuple[Any, int | None]:
    new = copy.deepcopy(doc)
    output = new.get("output") or []
    first = next((i for i in output if isinstance(i, dict) and i.get("type") == "message"), {})
    kept = [i for i in output if isinstance(i, dict) and i.get("type") == "reasoning"]
    new["output"] = [*kept, _message_item(first.get("id") or "msg_refusal", fault, "completed")]
    return new, len(kept)


def _responses_stream(events: list[SSEEvent], fault: Refusal) -> tuple[list[SSEEvent], int | None]:
    payloads = event_payloads(events)
    item_id = next(
        (
            p["item"]["id"]
            for p in payloads
            if isinstance(p, dict)
            and isinstance(p.get("item"), dict)
            and p["item"].get("type") == "message"
            and isinstance(p["item"].get("id"), str)
        ),
        "msg_refusal",
    )
    part = _part(fault)
    field = "refusal" if fault.kind == "refusal" else "text"
    kind = "response.refusal" if fault.kind == "refusal" else "response.output_text"
    at = {"item_id": item_id, "output_index": 0}
    told: list[dict[str, Any]] = [
        {
            "type": "response.output_item.added",
            "item": _message_item(item_id, fault, "in_progress"),
            "output_index": 0,
        },
        {
            "type": "response.content_part.added",
            **at,
            "content_index": 0,
            "part": {**part, field: ""},
        },
        {"type": f"{kind}.delta", **at, "content_index": 0, "delta": fault.said},
        {"type": f"{kind}.done", **at, "content_index": 0, field: fault.said},
        {"type": "response.content_part.done", **at, "content_index": 0, "part": part},
        {
            "type": "response.output_item.done",
            "item": _message_item(item_id, fault, "completed"),
            "output_index": 0,
        },
    ]
    return with_output(events, told, [_message_item(item_id, fault, "completed")]), 0


# -- Gemini ---------------------------------------------------------------------------------------
def _gemini_content(fault: Refusal, text: str) -> dict[str, Any] | None:
    """A candidate's content: Gemini has no refusal field (a model that declines says so in
    text, ending ``STOP``); a filtered answer has no content at all (``SAFETY``)."""
    if fault.kind == "content_filter":
        return None
    return {"parts": [{"text": text}], "role": "model"}


def _gemini_candidates(payload: Any, content: dict[str, Any] | None) -> bool:
    candidates = payload.get("candidates") if isinstance(payload, dict) else None
    if not isinstance(candidates, list) or not candidates:
        return False
    for candidate in candidates:
        if not isinstance(candidate, dict):
            continue
        candidate.pop("content", None)
        if content is not None:
            candidate["content"] = copy.deepcopy(content)
    return True


def _gemini_body(doc: Any, fault: Refusal) -> tuple[Any, int | None]:
    new = copy.deepcopy(doc)
    _gemini_candidates(new, _gemini_content(fault, fault.said))
    return new, None


def _gemini_stream(events: list[SSEEvent], fault: Refusal) -> tuple[list[SSEEvent], int | None]:
    """Every chunk kept (its usage, its pacing); the first one with a candidate says the
    answer, the later ones carry empty text, as Gemini's own last chunk does."""
    out: list[SSEEvent] = []
    told = False
    for event, payload in zip(events, event_payloads(events), strict=True):
        content = _gemini_content(fault, "" if told else fault.said)
        if _gemini_candidates(payload, content):
            told = True
            event = event.with_json(payload)
        out.append(event)
    return out, None


_BODIES = {
    WireFormat.openai_chat: _chat_body,
    WireFormat.openai_responses: _responses_body,
    WireFormat.anthropic_messages: _anthropic_body,
    WireFormat.gemini: _gemini_body,
}
_STREAMS = {
    WireFormat.openai_chat: _chat_stream,
    WireFormat.openai_responses: _responses_stream,
    WireFormat.anthropic_messages: _anthropic_stream,
    WireFormat.gemini: _gemini_stream,
}
