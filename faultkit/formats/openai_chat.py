"""OpenAI Chat Completions: find and edit tool calls and answer text, in a body or a stream.

Body: ``choices[i].message.tool_calls[j]`` with ``function.arguments`` as a JSON *string*
(``custom`` tool calls carry ``custom.input`` instead); the answer is ``message.content``.

Stream: tool calls arrive spread over ``delta.tool_calls`` fragments keyed by ``index``; the
first fragment carries ``id``, ``type`` and ``function.name``, later ones only argument pieces.
Edits keep every fragment where it was (same events, same ``index``), re-spreading the new
argument text over the recorded fragment sizes, because clients assemble by ``index`` and a
missing or moved ``index`` is a different fault (F17).
"""

from __future__ import annotations

import copy
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
    respread,
)
from faultkit.formats.sse import SSEEvent

_CALL_KINDS = (("function", "arguments"), ("custom", "input"))


def _call_fields(call: dict[str, Any]) -> tuple[str, str] | None:
    for kind, args_key in _CALL_KINDS:
        if isinstance(call.get(kind), dict):
            return kind, args_key
    return None


# -- body -----------------------------------------------------------------------------------------
def _body_calls(doc: Any) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    if not isinstance(doc, dict) or not isinstance(doc.get("choices"), list):
        return found
    for ci, choice in enumerate(doc["choices"]):
        message = choice.get("message") if isinstance(choice, dict) else None
        calls = message.get("tool_calls") if isinstance(message, dict) else None
        if not isinstance(calls, list):
            continue
        for ti, call in enumerate(calls):
            if isinstance(call, dict) and _call_fields(call):
                found.append((ci, ti))
    return found


def tool_calls(doc: Any) -> list[ToolCall]:
    """Every tool call in a chat completion body, in order."""
    out: list[ToolCall] = []
    for position, (ci, ti) in enumerate(_body_calls(doc)):
        call = doc["choices"][ci]["message"]["tool_calls"][ti]
        kind, args_key = _call_fields(call) or ("function", "arguments")
        out.append(
            ToolCall(
                position=position,
                key=(ci, ti),
                id=call.get("id"),
                name=call[kind].get("name"),
                arguments=json_text(call[kind].get(args_key, "")),
                where=f"choices[{ci}].message.tool_calls[{ti}]",
            )
        )
    return out


def _apply_edit(call: dict[str, Any], edit: CallEdit, *, set_args: bool = True) -> None:
    kind, args_key = _call_fields(call) or ("function", "arguments")
    if edit.arguments is not None and set_args:
        call[kind][args_key] = edit.arguments
    edit.edit_name(call[kind])
    edit.edit_id(call)


def edit_tool_call(doc: Any, key: Any, edit: CallEdit) -> Any:
    """A copy of ``doc`` with the tool call ``key`` (from :func:`tool_calls`) edited."""
    ci, ti = key
    new = copy.deepcopy(doc)
    _apply_edit(new["choices"][ci]["message"]["tool_calls"][ti], edit)
    return new


def duplicate_tool_call(doc: Any, key: Any) -> Any:
    """A copy of ``doc`` with the tool call ``key`` repeated right after itself (same id)."""
    ci, ti = key
    new = copy.deepcopy(doc)
    calls = new["choices"][ci]["message"]["tool_calls"]
    calls.insert(ti + 1, copy.deepcopy(calls[ti]))
    return new


def output_texts(doc: Any) -> list[TextSlot]:
    """Each choice's ``message.content`` that is a string."""
    out: list[TextSlot] = []
    if not isinstance(doc, dict) or not isinstance(doc.get("choices"), list):
        return out
    for ci, choice in enumerate(doc["choices"]):
        message = choice.get("message") if isinstance(choice, dict) else None
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            out.append(TextSlot(ci, message["content"], f"choices[{ci}].message.content"))
    return out


def set_output_text(doc: Any, key: Any, text: str) -> Any:
    new = copy.deepcopy(doc)
    new["choices"][key]["message"]["content"] = text
    return new


# -- stream ---------------------------------------------------------------------------------------
def _choices(payload: Any) -> list[dict[str, Any]]:
    if isinstance(payload, dict) and isinstance(payload.get("choices"), list):
        return [c for c in payload["choices"] if isinstance(c, dict)]
    return []


def _fragments(events: list[SSEEvent]) -> dict[tuple[int, int], list[tuple[int, int, int]]]:
    """(choice index, tool index) -> [(event index, choice position, tool_calls position)]."""
    calls: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for ei, event in enumerate(events):
        payload = event.json()
        for cpos, choice in enumerate(_choices(payload)):
            delta = choice.get("delta")
            deltas = delta.get("tool_calls") if isinstance(delta, dict) else None
            if not isinstance(deltas, list):
                continue
            for tpos, frag in enumerate(deltas):
                if not isinstance(frag, dict):
                    continue
                tool_index = frag.get("index", tpos)
                calls.setdefault((choice.get("index", cpos), tool_index), []).append(
                    (ei, cpos, tpos)
                )
    return calls


def _frag(payloads: list[Any], where: tuple[int, int, int]) -> dict[str, Any]:
    ei, cpos, tpos = where
    return payloads[ei]["choices"][cpos]["delta"]["tool_calls"][tpos]


def stream_tool_calls(events: list[SSEEvent]) -> list[ToolCall]:
    """Every tool call in a chat completion stream, assembled as the SDK does, in the order
    their first fragment appears."""
    payloads = event_payloads(events)
    out: list[ToolCall] = []
    for position, (key, frags) in enumerate(_fragments(events).items()):
        ident = name = None
        args: list[str] = []
        for where in frags:
            frag = _frag(payloads, where)
            function = frag.get("function") if isinstance(frag.get("function"), dict) else {}
            if ident is None and isinstance(frag.get("id"), str):
                ident = frag["id"]
            if name is None and isinstance(function.get("name"), str):
                name = function["name"]
            if isinstance(function.get("arguments"), str):
                args.append(function["arguments"])
        out.append(
            ToolCall(
                position=position,
                key=key,
                id=ident,
                name=name,
                arguments="".join(args),
                where=f"stream.choices[{key[0]}].tool_calls[{key[1]}]",
            )
        )
    return out


def edit_stream_tool_call(events: list[SSEEvent], key: Any, edit: CallEdit) -> StreamEdit:
    """``events`` with the tool call ``key`` edited in place (same events, same indexes)."""
    frags = _fragments(events).get(key, [])
    payloads = event_payloads(events)
    touched: set[int] = set()
    arg_frags = [w for w in frags if isinstance(_function(payloads, w).get("arguments"), str)]
    if edit.arguments is not None and arg_frags:
        lengths = [len(_function(payloads, w)["arguments"]) for w in arg_frags]
        for where, piece in zip(arg_frags, respread(lengths, edit.arguments), strict=True):
            _function(payloads, where)["arguments"] = piece
            touched.add(where[0])
    for where in frags:
        frag = _frag(payloads, where)
        function = _function(payloads, where)
        renamed = edit.edit_name(function)
        if edit.edit_id(frag) or renamed:
            touched.add(where[0])
    new = edited_events(events, payloads, touched)
    return new, {}


def _function(payloads: list[Any], where: tuple[int, int, int]) -> dict[str, Any]:
    frag = _frag(payloads, where)
    function = frag.get("function")
    return function if isinstance(function, dict) else {}


def duplicate_stream_tool_call(events: list[SSEEvent], key: Any) -> StreamEdit:
    """A second, complete tool call with the same id, name and arguments as ``key``, sent in
    one chunk with the next free ``index`` right after the last tool-call fragment of that
    choice (so indexes still arrive in increasing order)."""
    calls = _fragments(events)
    frags = calls.get(key)
    if not frags:
        return events, {}
    call = next(c for c in stream_tool_calls(events) if c.key == key)
    choice_index = key[0]
    same_choice = [k for k in calls if k[0] == choice_index]
    new_index = max(k[1] for k in same_choice if isinstance(k[1], int)) + 1
    last_event = max(w[0] for k in same_choice for w in calls[k])
    template = events[last_event].json()
    chunk = {k: v for k, v in template.items() if k not in ("choices", "obfuscation")}
    fragment: dict[str, Any] = {"index": new_index}
    if call.id is not None:
        fragment["id"] = call.id
    fragment["type"] = "function"
    fragment["function"] = {"name": call.name, "arguments": call.arguments}
    chunk["choices"] = [
        {
            "index": choice_index,
            "delta": {"tool_calls": [fragment]},
            "logprobs": None,
            "finish_reason": None,
        }
    ]
    return events, {last_event: [SSEEvent(data=dumps(chunk))]}


def stream_output_texts(events: list[SSEEvent]) -> list[TextSlot]:
    """The streamed ``delta.content`` of each choice, reassembled."""
    texts: dict[int, list[str]] = {}
    for event in events:
        for cpos, choice in enumerate(_choices(event.json())):
            delta = choice.get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                texts.setdefault(choice.get("index", cpos), []).append(delta["content"])
    return [
        TextSlot(ci, "".join(parts), f"stream.choices[{ci}].delta.content")
        for ci, parts in texts.items()
    ]


def set_stream_output_text(events: list[SSEEvent], key: Any, text: str) -> list[SSEEvent]:
    """``events`` whose content deltas for choice ``key`` now spell ``text`` (same events,
    re-spread over the recorded delta sizes)."""
    payloads = event_payloads(events)
    slots: list[tuple[int, dict[str, Any]]] = []
    for ei, payload in enumerate(payloads):
        for cpos, choice in enumerate(_choices(payload)):
            delta = choice.get("delta")
            is_text = isinstance(delta, dict) and isinstance(delta.get("content"), str)
            if choice.get("index", cpos) == key and is_text:
                slots.append((ei, delta))
    pieces = respread([len(d["content"]) for _, d in slots], text)
    touched: set[int] = set()
    for (ei, delta), piece in zip(slots, pieces, strict=True):
        if delta["content"] != piece:
            delta["content"] = piece
            touched.add(ei)
    return edited_events(events, payloads, touched)
