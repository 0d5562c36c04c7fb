"""Google Gemini ``generateContent``: find and edit tool calls and answer text, in a body or a
stream.

Body: ``candidates[c].content.parts[p]``; a part holds ``text`` (a ``thought: true`` part is
the model's reasoning, not its answer) or a ``functionCall`` with ``name``, an ``args``
*object* (as Anthropic's ``input``, unlike OpenAI's argument string) and, from some models, an
``id``.

Stream (``:streamGenerateContent?alt=sse``): every event is a whole ``GenerateContentResponse``
chunk. Answer text arrives as ``text`` parts spread over the chunks and is concatenated; a
function call arrives whole in one part of one chunk, never in fragments. The last chunk of a
candidate carries its ``finishReason``. There is no ``[DONE]`` sentinel and no ``event:``
line. Edits keep every chunk (its ``usageMetadata``, ``responseId``) and re-spread new text over
the recorded part sizes, so the pacing stays as recorded.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from faultkit.formats.common import (
    CallEdit,
    StreamEdit,
    TextSlot,
    ToolCall,
    dumps,
    edited_events,
    event_payloads,
    json_text,
    list_at,
    respread,
)
from faultkit.formats.sse import SSEEvent

Where = tuple[int, int]  # (candidate position, part position)


def args_value(arguments: str) -> Any:
    """The ``args`` to write for argument text: the parsed object when it is one, else the
    text itself, which is not a valid ``args`` and is the point of a broken-arguments fault."""
    try:
        value = json.loads(arguments)
    except ValueError:
        return arguments
    return value if isinstance(value, dict) else arguments


def _parts(candidate: Any) -> list[Any]:
    content = candidate.get("content") if isinstance(candidate, dict) else None
    return list_at(content, "parts")


def _candidates(doc: Any) -> list[Any]:
    return list_at(doc, "candidates")


def _index(candidate: Any, position: int) -> int:
    """A candidate's ``index`` (absent on the first candidate of many responses)."""
    if isinstance(candidate, dict) and isinstance(candidate.get("index"), int):
        return candidate["index"]
    return position


def _is_call(part: Any) -> bool:
    return isinstance(part, dict) and isinstance(part.get("functionCall"), dict)


def _is_text(part: Any) -> bool:
    return isinstance(part, dict) and isinstance(part.get("text"), str) and not part.get("thought")


def _edit_call(call: dict[str, Any], edit: CallEdit) -> None:
    if edit.arguments is not None:
        call["args"] = args_value(edit.arguments)
    edit.edit_name(call)
    edit.edit_id(call)


def _tool_call(position: int, key: Any, call: dict[str, Any], where: str) -> ToolCall:
    return ToolCall(
        position=position,
        key=key,
        id=call.get("id") if isinstance(call.get("id"), str) else None,
        name=call.get("name") if isinstance(call.get("name"), str) else None,
        arguments=json_text(call.get("args", {})),
        where=where,
    )


# -- body -----------------------------------------------------------------------------------------
def _body_calls(doc: Any) -> list[Where]:
    return [
        (c, p)
        for c, candidate in enumerate(_candidates(doc))
        for p, part in enumerate(_parts(candidate))
        if _is_call(part)
    ]


def tool_calls(doc: Any) -> list[ToolCall]:
    """Every ``functionCall`` part, in order; ``arguments`` is its ``args`` serialized."""
    out: list[ToolCall] = []
    for c, p in _body_calls(doc):
        call = _parts(_candidates(doc)[c])[p]["functionCall"]
        where = f"candidates[{c}].content.parts[{p}].functionCall"
        out.append(_tool_call(len(out), (c, p), call, where))
    return out


def edit_tool_call(doc: Any, key: Any, edit: CallEdit) -> Any:
    new = copy.deepcopy(doc)
    c, p = key
    _edit_call(new["candidates"][c]["content"]["parts"][p]["functionCall"], edit)
    return new


def duplicate_tool_call(doc: Any, key: Any) -> Any:
    new = copy.deepcopy(doc)
    c, p = key
    parts = new["candidates"][c]["content"]["parts"]
    parts.insert(p + 1, copy.deepcopy(parts[p]))
    return new


def output_texts(doc: Any) -> list[TextSlot]:
    """Each candidate's answer text: its text parts (thoughts excluded), joined."""
    out: list[TextSlot] = []
    for c, candidate in enumerate(_candidates(doc)):
        texts = [part["text"] for part in _parts(candidate) if _is_text(part)]
        if texts:
            out.append(TextSlot(c, "".join(texts), f"candidates[{c}].content.parts.text"))
    return out


def set_output_text(doc: Any, key: Any, text: str) -> Any:
    """The candidate's text parts now spell ``text`` (re-spread over the recorded parts)."""
    new = copy.deepcopy(doc)
    parts = [part for part in _parts(new["candidates"][key]) if _is_text(part)]
    for part, piece in zip(parts, respread([len(p["text"]) for p in parts], text), strict=True):
        part["text"] = piece
    return new


# -- stream ---------------------------------------------------------------------------------------
def _stream_parts(payloads: list[Any]) -> list[tuple[int, int, int, dict[str, Any]]]:
    """(event index, candidate index, part position, part) for every part of every chunk."""
    out: list[tuple[int, int, int, dict[str, Any]]] = []
    for ei, payload in enumerate(payloads):
        for cpos, candidate in enumerate(_candidates(payload)):
            for p, part in enumerate(_parts(candidate)):
                if isinstance(part, dict):
                    out.append((ei, _index(candidate, cpos), p, part))
    return out


def stream_tool_calls(events: list[SSEEvent]) -> list[ToolCall]:
    """Every function call in a stream, in order; key: (event index, candidate position,
    part position)."""
    payloads = event_payloads(events)
    out: list[ToolCall] = []
    for ei, payload in enumerate(payloads):
        for cpos, candidate in enumerate(_candidates(payload)):
            for p, part in enumerate(_parts(candidate)):
                if _is_call(part):
                    where = f"stream[{ei}].candidates[{cpos}].content.parts[{p}].functionCall"
                    out.append(_tool_call(len(out), (ei, cpos, p), part["functionCall"], where))
    return out


def _stream_call(payloads: list[Any], key: Any) -> dict[str, Any]:
    ei, cpos, p = key
    return payloads[ei]["candidates"][cpos]["content"]["parts"][p]


def edit_stream_tool_call(events: list[SSEEvent], key: Any, edit: CallEdit) -> StreamEdit:
    payloads = event_payloads(events)
    _edit_call(_stream_call(payloads, key)["functionCall"], edit)
    return edited_events(events, payloads, {key[0]}), {}


def duplicate_stream_tool_call(events: list[SSEEvent], key: Any) -> StreamEdit:
    """The chunk that carried the call sent again right after it, holding only that call
    (no finish reason, so the candidate still ends where it did)."""
    payloads = event_payloads(events)
    ei, cpos, _ = key
    part = copy.deepcopy(_stream_call(payloads, key))
    chunk = {k: v for k, v in payloads[ei].items() if k != "candidates"}
    candidate = {
        k: v
        for k, v in payloads[ei]["candidates"][cpos].items()
        if k not in ("content", "finishReason")
    }
    candidate["content"] = {"parts": [part], "role": "model"}
    chunk["candidates"] = [candidate]
    return events, {ei: [SSEEvent(data=dumps(chunk))]}


def stream_output_texts(events: list[SSEEvent]) -> list[TextSlot]:
    """Each candidate's streamed text parts, reassembled."""
    texts: dict[int, list[str]] = {}
    for _, ci, _, part in _stream_parts(event_payloads(events)):
        if _is_text(part):
            texts.setdefault(ci, []).append(part["text"])
    return [
        TextSlot(ci, "".join(parts), f"stream.candidates[{ci}].content.parts.text")
        for ci, parts in texts.items()
    ]


def set_stream_output_text(events: list[SSEEvent], key: Any, text: str) -> list[SSEEvent]:
    """``events`` whose text parts for candidate ``key`` now spell ``text`` (same chunks,
    re-spread over the recorded part sizes)."""
    payloads = event_payloads(events)
    slots = [
        (ei, part) for ei, ci, _, part in _stream_parts(payloads) if ci == key and _is_text(part)
    ]
    pieces = respread([len(part["text"]) for _, part in slots], text)
    touched: set[int] = set()
    for (ei, part), piece in zip(slots, pieces, strict=True):
        if part["text"] != piece:
            part["text"] = piece
            touched.add(ei)
    return edited_events(events, payloads, touched)
