"""Tool loop: the model asks for the same tool call again on every turn (issue 15).

A model that loops is up and answering: each answer is a well-formed tool call, so nothing
raises and the SDK hands the app a call to run. Only a step budget of the app's own stops it.
The fault acts on an answer to a request whose conversation already holds a tool call of the
model's: the answer becomes that call again, same name, same arguments, a new call id
(providers give every call its own). A first turn, which has no earlier call, is left as it is
(the ledger says "nothing to alter").

Per format: Chat Completions (``message.tool_calls``, ``finish_reason: "tool_calls"``; in a
stream a first fragment with id and name, one with the arguments, a closing chunk; the usage
chunk and ``[DONE]`` stay), Anthropic Messages (one ``tool_use`` block, ``stop_reason:
"tool_use"``; in a stream its ``content_block_*`` events in place of the recorded blocks, the
``message_delta`` saying ``tool_use``), OpenAI Responses (one ``function_call`` output item; in
a stream its ``output_item`` and ``function_call_arguments`` events in place of the recorded
items, and the terminal event's ``response.output`` that item), Gemini (the first candidate's
content one ``functionCall`` part, ``finishReason: "STOP"``; in a stream the first chunk with a
candidate carries it, later ones an empty text part). Usage is kept as recorded. An error
answer is left as it is.

The answer is usable (``answer_usable``): the app may run the call, and the request that
carries its result is the next step of the conversation, not a re-ask. Replay answers it
although no cassette holds it: the engine answers a request that continues a conversation this
fault altered with the recording that answered it (the ledger's ``recording`` says so), and
the fault acts on it again.

Alterations: one ``replaced`` at the answer's path, original the recorded answer (its text and
tool-call names), value the repeated call (``name``, ``arguments``).
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from faultkit.exchange import Request
from faultkit.faults.answer import Answer
from faultkit.faults.base import Alteration, Applied, Fault, FaultContext
from faultkit.formats.common import event_kind, event_payloads, with_events, write_json_body
from faultkit.formats.detect import WireFormat
from faultkit.formats.openai_responses import with_output
from faultkit.formats.sse import SSEEvent
from faultkit.plan import Plan

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from faultkit.faults._search import Limits

_ANSWER_PATHS = {
    WireFormat.openai_chat: "choices[0].message",
    WireFormat.openai_responses: "output",
    WireFormat.anthropic_messages: "content",
    WireFormat.gemini: "candidates[0].content",
}
_ANTHROPIC_BLOCK_EVENTS = ("content_block_start", "content_block_delta", "content_block_stop")


class ToolLoop(Fault):
    """The model asks for the same tool call again, every turn."""

    type: Literal["tool_loop"] = "tool_loop"
    category = "meaning"
    search_order = 160
    answer_usable = True

    formats: ClassVar[frozenset[WireFormat] | None] = frozenset(_ANSWER_PATHS)

    @classmethod
    def strategy(cls, limits: Limits, route: str | None) -> SearchStrategy[Fault]:
        """One shape: the loop has no parameter."""
        from hypothesis import strategies as st

        return st.just(cls())

    def describe(self) -> str:
        return "model repeats its tool call every turn"

    def apply(self, plan: Plan, ctx: FaultContext) -> Applied:
        head = plan.head
        if head is not None and head.status >= 400:
            return Applied(plan, [])
        call = last_call(ctx.format, ctx.request)
        answer = Answer.read(plan, ctx.format)
        if call is None or answer is None:
            return Applied(plan, [])
        name, arguments = call
        call_id = f"{_ID_PREFIX[ctx.format]}loop{ctx.call_index}"
        if answer.events is not None:
            events = _STREAMS[ctx.format](answer.events, name, arguments, call_id)
            if events is None:
                return Applied(plan, [])
            new = with_events(plan, events)
        else:
            doc = _BODIES[ctx.format](answer.doc, name, arguments, call_id)
            if doc is None:
                return Applied(plan, [])
            new = write_json_body(plan, doc)
        original = {
            "text": "".join(t.text for t in answer.output_texts()),
            "tool_calls": [c.name for c in answer.tool_calls()],
        }
        value = {"name": name, "arguments": arguments}
        path = _ANSWER_PATHS[ctx.format]
        return Applied(
            new, [Alteration(path=path, action="replaced", original=original, value=value)]
        )


_ID_PREFIX = {
    WireFormat.openai_chat: "call_",
    WireFormat.openai_responses: "call_",
    WireFormat.anthropic_messages: "toolu_",
    WireFormat.gemini: "",
}


# -- the call to repeat: the model's last one in the request's conversation -----------------------
def last_call(fmt: WireFormat, request: Request) -> tuple[str, str] | None:
    """The name and arguments (JSON text) of the model's last tool call in the conversation
    ``request`` sends, or None when the model has called no tool yet."""
    body = request.json_body
    if not isinstance(body, dict):
        return None
    if fmt == WireFormat.openai_chat:
        for message in reversed(_dicts(body.get("messages"))):
            calls = _dicts(message.get("tool_calls")) if message.get("role") == "assistant" else []
            for call in reversed(calls):
                function = call.get("function")
                if isinstance(function, dict) and isinstance(function.get("name"), str):
                    return function["name"], _text(function.get("arguments"))
    elif fmt == WireFormat.anthropic_messages:
        for message in reversed(_dicts(body.get("messages"))):
            if message.get("role") != "assistant":
                continue
            for block in reversed(_dicts(message.get("content"))):
                if block.get("type") == "tool_use" and isinstance(block.get("name"), str):
                    return block["name"], _text(block.get("input", {}))
    elif fmt == WireFormat.openai_responses:
        for item in reversed(_dicts(body.get("input"))):
            if item.get("type") == "function_call" and isinstance(item.get("name"), str):
                return item["name"], _text(item.get("arguments"))
    elif fmt == WireFormat.gemini:
        for content in reversed(_dicts(body.get("contents"))):
            if content.get("role") != "model":
                continue
            for part in reversed(_dicts(content.get("parts"))):
                call = part.get("functionCall")
                if isinstance(call, dict) and isinstance(call.get("name"), str):
                    return call["name"], _text(call.get("args", {}))
    return None


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _text(arguments: Any) -> str:
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments if arguments is not None else {}, separators=(",", ":"))


def _object(arguments: str) -> Any:
    """Anthropic's ``input`` is an object: the arguments parsed (``{}`` if they do not)."""
    try:
        value = json.loads(arguments)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# -- Chat Completions -----------------------------------------------------------------------------
def _chat_body(doc: Any, name: str, arguments: str, call_id: str) -> Any:
    choices = doc.get("choices") if isinstance(doc, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    new = copy.deepcopy(doc)
    choice = new["choices"][0]
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    message = {**message, "role": "assistant", "content": None, "refusal": None}
    message.pop("function_call", None)
    message["tool_calls"] = [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
    ]
    choice["message"] = message
    choice["finish_reason"] = "tool_calls"
    return new


def _chat_stream(
    events: list[SSEEvent], name: str, arguments: str, call_id: str
) -> list[SSEEvent] | None:
    payloads = event_payloads(events)
    template = next(
        (p for p in payloads if isinstance(p, dict) and isinstance(p.get("choices"), list)), None
    )
    if template is None:
        return None
    envelope = {k: v for k, v in template.items() if k not in ("choices", "usage")}
    if "usage" in template:
        envelope["usage"] = None

    def chunk(delta: dict[str, Any], finish: str | None) -> SSEEvent:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return SSEEvent().with_json({**envelope, "choices": [choice]})

    first = {"index": 0, "id": call_id, "type": "function"}
    told = [
        chunk(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{**first, "function": {"name": name, "arguments": ""}}],
            },
            None,
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]}, None),
        chunk({}, "tool_calls"),
    ]
    out: list[SSEEvent] = []
    for event, payload in zip(events, payloads, strict=True):
        choices = payload.get("choices") if isinstance(payload, dict) else None
        if isinstance(choices, list) and choices:
            out.extend(told)  # in the place of the recorded answer's first chunk
            told = []
            continue
        out.append(event)
    return out


# -- Anthropic Messages ---------------------------------------------------------------------------
def _anthropic_body(doc: Any, name: str, arguments: str, call_id: str) -> Any:
    if not isinstance(doc, dict) or not isinstance(doc.get("content"), list):
        return None
    new = copy.deepcopy(doc)
    new["content"] = [
        {"type": "tool_use", "id": call_id, "name": name, "input": _object(arguments)}
    ]
    new["stop_reason"] = "tool_use"
    new["stop_sequence"] = None
    return new


def _anthropic_stream(
    events: list[SSEEvent], name: str, arguments: str, call_id: str
) -> list[SSEEvent] | None:
    payloads = event_payloads(events)
    block = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
    told = [
        ("content_block_start", {"index": 0, "content_block": block}),
        (
            "content_block_delta",
            {"index": 0, "delta": {"type": "input_json_delta", "partial_json": arguments}},
        ),
        ("content_block_stop", {"index": 0}),
    ]
    out: list[SSEEvent] = []
    inserted = False
    for event, payload in zip(events, payloads, strict=True):
        kind = event_kind(payload, event)
        if kind in _ANTHROPIC_BLOCK_EVENTS or (kind == "message_delta" and not inserted):
            if not inserted:
                out.extend(SSEEvent(event=k).with_json({"type": k, **p}) for k, p in told)
                inserted = True
            if kind in _ANTHROPIC_BLOCK_EVENTS:
                continue
        if kind == "message_delta" and isinstance(payload, dict):
            delta = payload.get("delta") if isinstance(payload.get("delta"), dict) else {}
            payload["delta"] = {**delta, "stop_reason": "tool_use", "stop_sequence": None}
            event = event.with_json(payload)
        out.append(event)
    return out if inserted else None


# -- Responses ------------------------------------------------------------------------------------
def _responses_body(doc: Any, name: str, arguments: str, call_id: str) -> Any:
    if not isinstance(doc, dict) or not isinstance(doc.get("output"), list):
        return None
    new = copy.deepcopy(doc)
    item = _function_call(name, arguments, call_id)
    new["output"] = [
        i for i in new["output"] if isinstance(i, dict) and i.get("type") == "reasoning"
    ]
    new["output"].append(item)
    new["status"] = "completed"
    new["incomplete_details"] = None
    return new


def _responses_stream(
    events: list[SSEEvent], name: str, arguments: str, call_id: str
) -> list[SSEEvent] | None:
    done = _function_call(name, arguments, call_id)
    at = {"item_id": done["id"], "output_index": 0}
    told: list[dict[str, Any]] = [
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**done, "status": "in_progress", "arguments": ""},
        },
        {"type": "response.function_call_arguments.delta", **at, "delta": arguments},
        {"type": "response.function_call_arguments.done", **at, "arguments": arguments},
        {"type": "response.output_item.done", "output_index": 0, "item": done},
    ]
    return with_output(events, told, [done])


def _function_call(name: str, arguments: str, call_id: str) -> dict[str, Any]:
    return {
        "id": f"fc_{call_id}",
        "type": "function_call",
        "status": "completed",
        "arguments": arguments,
        "call_id": call_id,
        "name": name,
    }


# -- Gemini ---------------------------------------------------------------------------------------
def _gemini_content(name: str, arguments: str) -> dict[str, Any]:
    return {
        "role": "model",
        "parts": [{"functionCall": {"name": name, "args": _object(arguments)}}],
    }


def _gemini_body(doc: Any, name: str, arguments: str, call_id: str) -> Any:
    candidates = doc.get("candidates") if isinstance(doc, dict) else None
    if not isinstance(candidates, list) or not candidates or not isinstance(candidates[0], dict):
        return None
    new = copy.deepcopy(doc)
    new["candidates"][0]["content"] = _gemini_content(name, arguments)
    new["candidates"][0]["finishReason"] = "STOP"
    return new


def _gemini_stream(
    events: list[SSEEvent], name: str, arguments: str, call_id: str
) -> list[SSEEvent] | None:
    """Every chunk kept (its usage, its pacing): the first with a candidate carries the call,
    the later ones an empty text part, and the last says ``STOP``."""
    out: list[SSEEvent] = []
    told = False
    for event, payload in zip(events, event_payloads(events), strict=True):
        candidates = payload.get("candidates") if isinstance(payload, dict) else None
        if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
            candidate = candidates[0]
            if told:
                candidate["content"] = {"role": "model", "parts": [{"text": ""}]}
            else:
                candidate["content"] = _gemini_content(name, arguments)
                told = True
            if candidate.get("finishReason"):
                candidate["finishReason"] = "STOP"
            event = event.with_json(payload)
        out.append(event)
    return out if told else None


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
